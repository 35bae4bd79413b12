"""Query parameters with clear errors."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from guardian.errors import FieldError
from guardian.web.bodies import invalid


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
    return value.astimezone(dt.UTC)
