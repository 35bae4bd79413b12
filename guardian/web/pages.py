"""Pages through the API: list, read, acknowledge. The one-click link a page notification
carries opens the acknowledgement page (guardian/web/ui/ack.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from guardian.decide.escalation import chain_people
from guardian.errors import ApiError, FieldError, not_found
from guardian.storage.db import utcnow
from guardian.storage.models import Page
from guardian.storage.pages import acknowledge, get_page, list_pages, page_events
from guardian.types import PageStatus, Role
from guardian.web.access import requires
from guardian.web.bodies import invalid
from guardian.web.keys import engine_key, policy_key, principal_key

routes = web.RouteTableDef()


def page_json(page: Page, events: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": page.id, "message_id": page.message_id, "team": page.team,
        "reason": page.reason, "status": page.status, "step": page.step,
        "person": page.person, "plan": page.plan, "last_resort": page.last_resort,
        "due_at": page.due_at.isoformat(), "created_at": page.created_at.isoformat(),
        "acked_by": page.acked_by,
        "acked_at": page.acked_at.isoformat() if page.acked_at else None,
    }
    if events is not None:
        body["events"] = [{"seq": e.seq, "kind": e.kind, "person": e.person,
                           "actor": e.actor, "at": e.at.isoformat()} for e in events]
    return body


def _page_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise invalid([FieldError("id", "must be a whole number.")])
    return int(raw)


def _visible(request: web.Request, page: Page) -> bool:
    """Staff see the pages of their own teams and those that name them; other roles all."""
    principal = request[principal_key]
    if principal.role != Role.staff:
        return True
    me = principal.staff_id
    if me is None:
        return False
    if me in {str(step["person"]) for step in page.plan} or me == page.last_resort:
        return True
    policy = request.app[policy_key].policy if policy_key in request.app else None
    if policy is None or page.team not in policy.team_index:
        return False
    team = policy.team_index[page.team]
    return me in team.members or me == team.lead or me in chain_people(policy, page.team)


@routes.get("/api/v1/pages", name="pages")
@requires(Role.staff, Role.moderator, Role.hr)
async def pages(request: web.Request) -> web.Response:
    """Pages, newest first; `status` = open, acknowledged or exhausted. Staff see those of
    their own teams and those that name them."""
    status = request.query.get("status")
    if status is not None and status not in {s.value for s in PageStatus}:
        raise invalid([FieldError("status", "must be open, acknowledged or exhausted.")])
    found = await list_pages(engine=request.app[engine_key], status=status)
    return web.json_response({"pages": [page_json(p) for p in found if _visible(request, p)]})


@routes.get("/api/v1/pages/{id}", name="page")
@requires(Role.staff, Role.moderator, Role.hr)
async def page(request: web.Request) -> web.Response:
    """One page with its events: who was paged, escalated to, and who acknowledged."""
    async with request.app[engine_key].connect() as conn:
        found = await get_page(conn=conn, page_id=_page_id(request))
        if found is None or not _visible(request, found):
            raise not_found(f"Page {request.match_info['id']}")
        events = await page_events(conn=conn, page_id=found.id or 0)
    return web.json_response(page_json(found, events))


@routes.post("/api/v1/pages/{id}/ack", name="ack_page")
@requires(Role.staff, Role.hr)
async def ack_page(request: web.Request) -> web.Response:
    """Acknowledge: the escalation stops. Staff may acknowledge pages whose chain names them
    (at any step, whether or not it has reached them yet)."""
    page_id = _page_id(request)
    principal = request[principal_key]
    async with request.app[engine_key].begin() as conn:
        found = await get_page(conn=conn, page_id=page_id)
        if found is None:
            raise not_found(f"Page {page_id}")
        chain = {str(step["person"]) for step in found.plan} | {found.last_resort or ""}
        policy = request.app[policy_key].policy if policy_key in request.app else None
        if policy is not None:
            chain |= chain_people(policy, found.team)
        if principal.role == Role.staff and principal.staff_id not in chain:
            raise ApiError(403, "forbidden", "Only people on this page's chain (or HR) may "
                           "acknowledge it.")
        acked = await acknowledge(conn=conn, page_id=page_id, actor=principal.actor,
                                  now=utcnow())
    if acked is None:
        raise ApiError(409, "conflict", f"Page {page_id} is {found.status}, not open.")
    return web.json_response(page_json(acked))
