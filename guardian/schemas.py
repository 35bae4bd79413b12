"""The API's request and response bodies (pydantic), also the source of the OpenAPI schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Handle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone, for example 2026-11-25T22:48:00Z")
    return value.astimezone(dt.UTC)


AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: Handle = Field(description="The author's handle on the source, e.g. `@vecina`.")
    name: Annotated[str, StringConstraints(max_length=256)] | None = None


class MessageIn(BaseModel):
    """One public post addressed to the town hall or a member of staff."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"
    )] = Field(description="Where it came from: `twitter`, `mastodon`, `bluesky`, `webhook`...")
    external_id: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=256
    )] = Field(description="The message's id on its source; (source, external_id) is unique.")
    author: AuthorIn
    # The length limit is a setting (GUARDIAN_MAX_TEXT_CHARS), checked by the handler.
    text: str = Field(description="The message text, as posted.")
    created_at: AwareDatetime = Field(description="When it was posted (ISO 8601 with zone).")
    mentions: list[Handle] = Field(default_factory=list, max_length=50)
    in_reply_to: Annotated[str, StringConstraints(max_length=256)] | None = None
    url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    lang: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=2, max_length=16,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$",
    )] | None = Field(default=None, description="BCP 47 language tag if the source gives one.")


class AcceptedMessage(BaseModel):
    id: int
    source: str
    external_id: str
    duplicate: bool = Field(description="True when this (source, external_id) was already "
                                        "stored: nothing new was created.")


class IngestResponse(BaseModel):
    ids: list[int]
    messages: list[AcceptedMessage]


class StageEventPublic(BaseModel):
    stage: str
    completed_at: dt.datetime
    duration_ms: float


class MessagePublic(BaseModel):
    id: int
    source: str
    external_id: str
    author: AuthorIn
    text: str
    lang: str | None
    mentions: list[str]
    in_reply_to: str | None
    url: str | None
    created_at: dt.datetime
    received_at: dt.datetime
    stage: str
    attempts: int
    failed: bool
    last_error: str | None
    history: list[StageEventPublic]


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    errors: list[ErrorItem]


class ErrorResponse(BaseModel):
    error: ErrorBody


class HealthCheck(BaseModel):
    ok: bool
    detail: str
    info: dict[str, Any] = Field(default_factory=dict)


class HealthResponse(BaseModel):
    status: str = Field(description="`ok` or `degraded`; `degraded` answers 503.")
    version: str
    checks: dict[str, HealthCheck]
