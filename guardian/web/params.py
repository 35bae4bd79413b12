"""Query parameters with clear errors."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from guardian.errors import ApiError, FieldError
from guardian.types import FIRST_YEAR, LAST_YEAR, instant_in_range
from guardian.web.bodies import invalid


def message_id(request: web.Request) -> int:
    """The `{id}` of a message route: ASCII digits (not "³"), within a BIGINT."""
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(422, "invalid", "The message id must be a whole number.",
                       [FieldError("id", "must be a whole number.")])
    return int(raw)


def optional_instant(request: web.Request, name: str) -> dt.datetime | None:
    """An ISO 8601 instant with a time zone (`Z` or an offset), or None when absent."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise invalid([FieldError(name, f"{raw!r} is not an ISO 8601 instant, e.g. "
                                        "2026-11-25T22:48:00+01:00.")]) from None
    if value.tzinfo is None:
        raise invalid([FieldError(name, "needs a time zone, e.g. 2026-11-25T22:48:00Z.")])
    if not instant_in_range(value):
        raise invalid([FieldError(name, f"is outside the years Guardian takes ({FIRST_YEAR} "
                                        f"to {LAST_YEAR}).")])
    return value.astimezone(dt.UTC)


def choices(request: web.Request, name: str, allowed: tuple[str, ...]) -> list[str]:
    """A comma-separated query parameter whose values must be among `allowed`."""
    raw = request.query.get(name, "")
    chosen = [v.strip() for v in raw.split(",") if v.strip()]
    wrong = [v for v in chosen if v not in allowed]
    if wrong:
        raise invalid([FieldError(name, f"`{wrong[0]}` is not one of: {', '.join(allowed)}.")])
    return chosen
