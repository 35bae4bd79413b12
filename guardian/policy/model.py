"""The policy model. Pure: validation only, no I/O, no clock."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
FEEDS = ("twitter", "mastodon", "bluesky", "webhook")
_HANDLE = re.compile(r"^@?[\w.@-]{1,256}$")


def _timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Madrid"
        ) from None
    return name


def _handles(handles: dict[str, str]) -> dict[str, str]:
    for feed, handle in handles.items():
        if feed not in FEEDS:
            raise ValueError(f"unknown feed {feed!r}; use one of: {', '.join(FEEDS)}")
        if not _HANDLE.match(handle):
            raise ValueError(f"{handle!r} does not look like a handle on {feed}")
    return handles


TimeZoneName = Annotated[str, AfterValidator(_timezone)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Town(_Strict):
    name: str
    timezone: TimeZoneName
    languages: list[LanguageCode] = Field(min_length=1)


class StaffMember(_Strict):
    id: Slug
    name: str
    role: str | None = None
    handles: Annotated[dict[str, str], AfterValidator(_handles)] = Field(default_factory=dict)
    timezone: TimeZoneName
    languages: list[LanguageCode] = Field(default_factory=lambda: ["es"])


class Team(_Strict):
    id: Slug
    name: str
    members: list[Slug] = Field(min_length=1)
    lead: Slug | None = None
    categories: list[Slug] = Field(default_factory=list)


class Category(_Strict):
    id: Slug
    keywords: dict[LanguageCode, list[str]] = Field(default_factory=dict)


class PolicyFile(_Strict):
    """What one YAML file may hold; files are merged into one `Policy`."""

    town: Town | None = None
    staff: list[StaffMember] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)


class Policy(_Strict):
    town: Town
    staff: tuple[StaffMember, ...]
    teams: tuple[Team, ...]
    categories: tuple[Category, ...]

    def staff_by_id(self) -> dict[str, StaffMember]:
        return {s.id: s for s in self.staff}

    def summary(self) -> dict[str, int]:
        return {"staff": len(self.staff), "teams": len(self.teams),
                "categories": len(self.categories)}
