"""What moderators escalated, for those it was escalated to: HR see what went to HR (and
to any team), a team's members what went to their team (the police, for one), moderators
everything. Masked text only: the original stays in the moderators' queue."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from guardian.errors import FieldError
from guardian.notify.compose import message_link
from guardian.review.queue import Escalated, escalated_items
from guardian.types import Role
from guardian.web.access import requires
from guardian.web.bodies import invalid
from guardian.web.keys import engine_key, principal_key, settings_key
from guardian.web.overrides import policy_of

routes = web.RouteTableDef()
MAX_LIMIT = 500


def _json(found: Escalated, base_url: str) -> dict[str, Any]:
    item = found.item
    return {"review_id": item.id, "message_id": item.message_id,
            "escalated_to": item.escalated_to, "category": item.category,
            "level": item.level, "note": item.note, "escalated_by": item.decided_by,
            "escalated_at": item.decided_at.isoformat() if item.decided_at else None,
            "received_at": found.received_at.isoformat(), "text": found.masked_text,
            "link": message_link(base_url, item.message_id)}


@routes.get("/api/v1/escalations", name="escalations")
@requires(Role.hr, Role.moderator, Role.staff)
async def escalations(request: web.Request) -> web.Response:
    """Escalated items, newest first; `to` = `hr` or a team id; `limit` up to 500."""
    policy = policy_of(request)
    principal = request[principal_key]
    raw_limit = request.query.get("limit", "100")
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise invalid([FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}.")])
    wanted = request.query.get("to")
    if wanted is not None and wanted != "hr" and wanted not in policy.team_index:
        raise invalid([FieldError("to", "must be `hr` or a team id of the policy.")])
    allowed: list[str] | None = None
    if principal.role == Role.staff:
        mine = principal.staff_id
        allowed = [t.id for t in policy.teams if mine in t.members or mine == t.lead]
        if mine in policy.moderation.hr:
            allowed.append("hr")
    to = ([wanted] if wanted is not None else None) if allowed is None else (
        [t for t in allowed if wanted is None or t == wanted])
    found = await escalated_items(engine=request.app[engine_key], to=to,
                                  limit=int(raw_limit)) if to != [] else []
    base_url = request.app[settings_key].base_url
    return web.json_response({"escalations": [_json(f, base_url) for f in found]})
