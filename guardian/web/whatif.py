"""The policy what-if over HTTP: `POST /api/v1/policy/what-if` (HR), and what it shares
with HR's page (guardian.web.ui.whatif): the uploads checked, the changed policy loaded as
`guardian policies check` loads it, the stored traffic read, and both replays run
(guardian.engine.whatif).

The replay runs within the request, bounded: at most `MAX_MESSAGES` messages (the most
recent of the period; the answer says from when), each run in a process of its own, one
what-if at a time per server process (another is `429`). Longer periods: `guardian
what-if` on the server, which has no bound."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guardian.engine.whatif import (
    DEFAULT_DAYS,
    MAX_DAYS,
    Report,
    in_children,
    nothing,
    report,
    stored_traffic,
    unchanged,
)
from guardian.errors import ApiError, FieldError
from guardian.policy.model import Policy
from guardian.policy_files.loader import Problem
from guardian.policy_files.overlay import (
    MAX_FILE_BYTES,
    MAX_FILES,
    UPLOAD,
    Changed,
    check_uploads,
)
from guardian.policy_files.overlay import with_changes as overlay
from guardian.types import Role
from guardian.web.access import requires
from guardian.web.bodies import invalid, read_payload, validation_errors
from guardian.web.keys import clock_key, engine_key, policy_key

routes = web.RouteTableDef()

# Messages replayed per what-if over HTTP (two runs of this many take about a minute).
MAX_MESSAGES = 300
MULTIPART = "multipart/form-data"


class WhatIfIn(BaseModel):
    """Changed policy files and the days to replay."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(description=(
        "Policy files by name (`staff.yaml`): each replaces the file of that name in the "
        f"policy in force, or adds one; an empty one takes out what its namesake held. At "
        f"most {MAX_FILES} files of {MAX_FILE_BYTES // 1024} KiB."))
    days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS,
                      description="Days of stored traffic to replay, up to now.")


class Running:
    """One what-if at a time in this process: two replays take the machine's cores."""

    busy = False


class Busy(Exception):
    """Another what-if is running in this process."""


BUSY = "Another what-if is running; try again when it is done (about a minute)."


def parse_days(raw: object) -> int | None:
    """A number of days from a form or a query (1 to MAX_DAYS), or None."""
    text = str(raw).strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_DAYS:
        return int(text)
    return None


def uploaded(fields: Sequence[object]) -> list[tuple[str, bytes]]:
    """The files of a multipart form's `files` fields (a field left empty sends none)."""
    found = []
    for value in fields:
        if isinstance(value, FileField) and value.filename:
            found.append((value.filename, value.file.read()))
    return found


@dataclass(frozen=True)
class Outcome:
    """What a what-if found: the changed policy's problems, and the replay's report (None
    when the policy does not load: nothing was replayed)."""

    changed: Changed
    report: Report | None


async def what_if(app: web.Application, texts: dict[str, str], days: int) -> Outcome:
    """Check the changed files and replay the last `days` under both policies."""
    policy = policy_of_app(app)
    now = app[clock_key]()
    store = app[policy_key]
    changed = await asyncio.to_thread(overlay, store.directory, texts, now=now)
    if changed.policy is None:
        return Outcome(changed, None)
    traffic = await stored_traffic(app[engine_key], start=now - dt.timedelta(days=days),
                                   end=now, limit=MAX_MESSAGES)
    if changed.policy == policy:
        return Outcome(changed, unchanged(traffic, days))
    if not traffic.items:
        return Outcome(changed, report(traffic, days, nothing(), nothing()))
    if Running.busy:
        raise Busy()
    Running.busy = True
    try:
        old, new = await in_children(traffic.items, policy, changed.policy,
                                     traffic.overrides)
    finally:
        Running.busy = False
    return Outcome(changed, report(traffic, days, old, new))


def policy_of_app(app: web.Application) -> Policy:
    policy = app[policy_key].policy
    if policy is None:
        raise ApiError(503, "policy_unavailable",
                       "The duty policy did not load; fix it (see /health) and try again.")
    return policy


def where(problem: Problem) -> str:
    return f"{problem.file}:{problem.line}" if problem.line else problem.file



async def _asked(request: web.Request) -> tuple[list[tuple[str, bytes]], int]:
    """The files and days of a JSON or multipart request."""
    if request.content_type == MULTIPART:
        form = await request.post()
        days = parse_days(form.get("days", DEFAULT_DAYS))
        if days is None:
            raise invalid([FieldError("days", f"must be a whole number from 1 to {MAX_DAYS}.")],
                          "Nothing was replayed.")
        return uploaded(form.getall("files", [])), days
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "Send JSON with `Content-Type: application/json`, or the files as "
                       "`multipart/form-data`.")
    payload = await read_payload(request)
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid", "The body must be a JSON object.",
                       [FieldError("body", "must be an object.")])
    try:
        asked = WhatIfIn.model_validate(payload)
    except ValidationError as exc:
        raise invalid(validation_errors(exc), "Nothing was replayed.") from None
    return [(name, text.encode("utf-8")) for name, text in asked.files.items()], asked.days


@routes.post("/api/v1/policy/what-if", name="policy_what_if")
@requires(Role.hr)
async def api_what_if(request: web.Request) -> web.Response:
    """Replay the last days under the policy in force and under it with the files
    changed; the difference."""
    policy_of_app(request.app)
    files, days = await _asked(request)
    uploads = check_uploads(files)
    if uploads.problems:
        first = uploads.problems[0]
        said = first.message if first.file == UPLOAD else f"`{first.file}` {first.message}"
        raise ApiError(uploads.status, "too_large" if uploads.status == 413 else "invalid",
                       f"{said} Nothing was replayed.",
                       [FieldError(p.file, p.message) for p in uploads.problems])
    try:
        outcome = await what_if(request.app, uploads.texts, days)
    except Busy:
        raise ApiError(429, "busy", BUSY) from None
    changed = outcome.changed
    if outcome.report is None:
        errors = changed.errors
        raise ApiError(422, "invalid_policy",
                       f"The changed policy has {len(errors)} error(s); nothing was "
                       f"replayed. {where(errors[0])}: {errors[0].message}",
                       [FieldError(where(p), p.message) for p in errors])
    return web.json_response({
        **outcome.report.as_json(), "limit": MAX_MESSAGES,
        "files": {"replaced": changed.replaced, "added": changed.added},
        "warnings": [{"file": p.file, "line": p.line, "message": p.message}
                     for p in changed.warnings]})


_PAIR: dict[str, Any] = {
    "type": "object", "required": ["old", "new"],
    "description": "Under the policy in force (`old`) and under the changed one (`new`).",
    "properties": {"old": {"type": "integer"}, "new": {"type": "integer"}}}
_TOUCH: dict[str, Any] = {
    "type": "object", "required": ["at", "person", "kind"],
    "properties": {"at": {"type": "string", "format": "date-time"},
                   "person": {"type": "string"},
                   "kind": {"type": "string", "description": "deliver, digest, page..."}}}
_ROUTE: dict[str, Any] = {"anyOf": [{"type": "null"}, {
    "type": "object", "properties": {"category": {"type": "string"},
                                     "team": {"type": ["string", "null"]},
                                     "unrouted": {"type": "boolean"}}}]}
_COUNTS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "integer"}}
PERSON_METRICS = ("contacts", "after_hours", "quiet_hours", "pages", "waited")
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["period", "same_policy", "replayed", "left_out", "changed", "totals",
                 "people", "messages", "limit", "files", "warnings"],
    "properties": {
        "period": {"type": "object", "properties": {
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "days": {"type": "integer"}}},
        "same_policy": {"type": "boolean", "description": "The files change nothing: "
                                                         "nothing was replayed."},
        "replayed": _COUNTS, "left_out": _COUNTS, "changed": {"type": "boolean"},
        "totals": {"type": "object", "additionalProperties": _PAIR},
        "people": {"type": "array", "items": {
            "type": "object", "required": ["person", "changed", *PERSON_METRICS],
            "properties": {"person": {"type": "string"}, "changed": {"type": "boolean"},
                           **dict.fromkeys(PERSON_METRICS, _PAIR)}}},
        "messages": {"type": "array", "items": {
            "type": "object", "required": ["message", "old", "new"],
            "properties": {"message": {"type": "string"},
                           "old": {"type": "array", "items": _TOUCH},
                           "new": {"type": "array", "items": _TOUCH},
                           "old_route": _ROUTE, "new_route": _ROUTE,
                           "stored": {"type": "object"}}}},
        "limit": {"type": "integer", "description": "At most this many messages replayed."},
        "files": {"type": "object", "properties": {
            "replaced": {"type": "array", "items": {"type": "string"}},
            "added": {"type": "array", "items": {"type": "string"}}}},
        "warnings": {"type": "array", "items": {"type": "object"}}}}
