"""A citizen's request's lifecycle through the API: `GET|POST /api/v1/messages/{id}/status`.

Staff move the requests they were told about, or those of their own teams; HR and admins
any. Each move is audited, timed (`guardian_request_acknowledge_seconds`,
`guardian_request_resolve_seconds` per team) and, where the policy has a template for the
new status and the request may be answered, queued as a reply to the citizen on the
network it came from (guardian/engine/citizen_replies.py).
"""

from __future__ import annotations

from aiohttp import web

from guardian import metrics
from guardian.decide.lifecycle import is_request, move_problem
from guardian.engine.citizen_replies import queue_reply
from guardian.errors import ApiError, FieldError, not_found
from guardian.schemas import RequestMoveIn, RequestPublic
from guardian.storage.audit import audit
from guardian.storage.messages import get_message
from guardian.storage.models import Message, RequestState
from guardian.storage.notifications import was_notified
from guardian.storage.requests import record_move, request_state
from guardian.types import RequestStatus, Role
from guardian.web.access import requires
from guardian.web.auth import Principal
from guardian.web.bodies import read_model
from guardian.web.keys import clock_key, engine_key, policy_key, principal_key
from guardian.web.params import message_id as parse_message_id

routes = web.RouteTableDef()


def _public(message: Message, state: RequestState | None,
            reply_queued: bool = False) -> RequestPublic:
    decision = message.decision or {}
    return RequestPublic(
        message_id=message.id or 0,
        status=RequestStatus(state.status) if state else RequestStatus.received,
        team=state.team if state else str(decision.get("team")),
        category=state.category if state else str(decision.get("category")),
        changed_at=state.changed_at if state else None,
        changed_by=state.changed_by if state else None,
        acknowledged_at=state.acknowledged_at if state else None,
        resolved_at=state.resolved_at if state else None,
        reason=state.reason if state else None, reply_queued=reply_queued)


async def _request(request: web.Request) -> Message:
    """The message behind `{id}` if it is a request this caller may see; 404 otherwise
    (also for a request that is not theirs: its existence is not theirs to learn)."""
    ident = parse_message_id(request)
    found = await get_message(engine=request.app[engine_key], message_id=ident)
    if found is None or not is_request(found[0].decision):
        raise not_found(f"Request {ident}")
    message = found[0]
    principal: Principal = request[principal_key]
    if principal.role == Role.staff and not await _theirs(request, principal, message):
        raise not_found(f"Request {ident}")
    return message


async def _theirs(request: web.Request, principal: Principal, message: Message) -> bool:
    who = principal.staff_id
    if who is None:
        return False
    policy = request.app[policy_key].policy
    team = policy.team_index.get(str((message.decision or {}).get("team"))) if policy else None
    if team is not None and who in team.members:
        return True
    return await was_notified(engine=request.app[engine_key], recipient=who,
                              message_id=message.id or 0)


@routes.get("/api/v1/messages/{id}/status", name="request_status")
@requires(Role.staff, Role.hr)
async def get_status(request: web.Request) -> web.Response:
    """Where a request is."""
    message = await _request(request)
    async with request.app[engine_key].connect() as conn:
        state = await request_state(conn=conn, message_id=message.id or 0)
    return web.json_response(text=_public(message, state).model_dump_json())


async def move_request(app: web.Application, message: Message, new: RequestStatus,
                       reason: str | None, reply: bool, actor: str
                       ) -> tuple[RequestState, bool]:
    """Move `message`'s request to `new` (the API and the notification's link page both
    call this): the state after and whether a reply to the citizen was queued. Raises
    ApiError 409 (not from here, or moved meanwhile) or 422 (closing without a reason)."""
    now = app[clock_key]()
    decision = message.decision or {}
    team, category = str(decision.get("team")), str(decision.get("category"))
    async with app[engine_key].begin() as conn:
        before = await request_state(conn=conn, message_id=message.id or 0)
        current = RequestStatus(before.status) if before else RequestStatus.received
        problem = move_problem(current, new, reason)
        if problem is not None:
            if new == RequestStatus.closed and not (reason or "").strip():
                raise ApiError(422, "invalid", f"`reason` is required: {problem}",
                               [FieldError("reason", "is required to close a request.")])
            raise ApiError(409, "conflict", f"Cannot move request {message.id}: {problem}")
        after = await record_move(conn=conn, message_id=message.id or 0, team=team,
                                  category=category, before=before, status=new,
                                  by=actor, reason=reason or None, now=now)
        if after is None:
            raise ApiError(409, "conflict", f"Request {message.id} was moved by someone else "
                           "meanwhile; read it again.")
        queued = reply and await queue_reply(conn=conn, policy=app[policy_key].policy,
                                             message=message, status=new, now=now)
        await audit(conn=conn, actor=actor, action="request.move",
                    subject=f"message:{message.id}",
                    details={"from": current.value, "to": new.value, "reason": reason,
                             "reply_queued": queued}, at=now)
    if after.acknowledged_at == now and (before is None or before.acknowledged_at is None):
        metrics.REQUEST_ACKNOWLEDGE_SECONDS.labels(team=team).observe(
            max((now - message.received_at).total_seconds(), 0.0))
    if after.resolved_at == now and (before is None or before.resolved_at is None):
        metrics.REQUEST_RESOLVE_SECONDS.labels(team=team).observe(
            max((now - message.received_at).total_seconds(), 0.0))
    return after, queued


@routes.post("/api/v1/messages/{id}/status", name="request_move")
@requires(Role.staff, Role.hr)
async def move(request: web.Request) -> web.Response:
    """Move a request on (acknowledged, in progress, resolved, closed with a reason)."""
    message = await _request(request)
    body = await read_model(request, RequestMoveIn)
    principal: Principal = request[principal_key]
    after, queued = await move_request(request.app, message, body.status, body.reason,
                                       body.reply, principal.actor)
    return web.json_response(text=_public(message, after, queued).model_dump_json())
