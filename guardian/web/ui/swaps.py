"""Swaps in the browser: staff ask a teammate to take their duty for a period, answer
what they are asked, and withdraw their own proposals. Every rule (who may answer, HR's
approval when the policy asks for it, the notices each step sends) is the API's own:
these handlers call guardian.web.overrides.propose/answer/withdraw."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from guardian.errors import ApiError
from guardian.policy.model import Policy
from guardian.policy.names import person_name, person_zone, team_name
from guardian.schemas import SwapIn
from guardian.storage.db import utcnow
from guardian.storage.models import DutyOverride
from guardian.storage.overrides import list_overrides
from guardian.types import OverrideStatus, Role
from guardian.web.keys import engine_key
from guardian.web.overrides import answer, existing, policy_of, propose, withdraw
from guardian.web.ui.render import form_instant, see_other
from guardian.web.ui.sessions import Visitor, page, signed_in

routes = web.RouteTableDef()

SHOWN_BACK = dt.timedelta(days=30)    # answered swaps stay listed this long
DONE = frozenset({"proposed", "accepted", "declined", "withdrawn"})


def _teams(policy: Policy, me: str) -> list[dict[str, Any]]:
    """The teams the person is in, each with their teammates (whom they may ask)."""
    return [{"id": t.id, "name": t.name,
             "mates": [{"id": m, "name": person_name(policy, m)}
                       for m in t.members if m != me]}
            for t in policy.teams if me in t.members]


def _row(policy: Policy, o: DutyOverride, zone: ZoneInfo) -> dict[str, Any]:
    return {"id": o.id, "team": team_name(policy, o.team), "status": o.status,
            "asker": person_name(policy, o.replaces), "asked": person_name(policy, o.person),
            "start": o.starts_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            "end": o.ends_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            "reason": o.reason}


async def _page(request: web.Request, visitor: Visitor, *, error: str = "",
                form: dict[str, str] | None = None, status: int = 200) -> web.Response:
    policy = policy_of(request)
    me = visitor.staff_id
    zone = person_zone(policy, me)
    now = utcnow()
    found = await list_overrides(engine=request.app[engine_key], starts=now - SHOWN_BACK,
                                 statuses=tuple(OverrideStatus))
    # Swaps are the overrides staff proposed (HR's own overrides, with their private
    # reasons, are not listed here).
    swaps = [o for o in found if o.kind == "replace" and o.created_by.startswith("staff:")]
    asked = [_row(policy, o, zone) for o in swaps
             if o.person == me and o.status == OverrideStatus.proposed.value]
    mine = [_row(policy, o, zone) for o in swaps if o.replaces == me]
    return page(request, visitor, "swaps.html", {
        "asked": asked, "mine": mine, "teams": _teams(policy, me), "zone": str(zone),
        "error": error, "form": form or {}, "done": request.query.get("done", "")
        if request.query.get("done") in DONE else ""}, status)


@routes.get("/swaps", name="ui_swaps")
@signed_in(Role.staff)
async def swaps_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _page(request, visitor)


@routes.post("/swaps", name="ui_swaps_propose")
@signed_in(Role.staff)
async def swaps_propose(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    zone = person_zone(policy, visitor.staff_id)
    posted = await request.post()
    form = {k: str(posted.get(k, ""))[:500] for k in ("team", "with", "start", "end",
                                                       "reason")}
    start, end = form_instant(form["start"], zone), form_instant(form["end"], zone)
    if start is None or end is None:
        return await _page(request, visitor, error="times", form=form, status=422)
    try:
        data = SwapIn.model_validate({"team": form["team"], "with": form["with"],
                                      "start": start, "end": end, "reason": form["reason"]})
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        kind = ("reason" if "reason" in fields else "who" if fields & {"team", "with"}
                else "order")
        return await _page(request, visitor, error=kind, form=form, status=422)
    team = policy.team_index.get(data.team)
    if team is None or visitor.staff_id not in team.members or data.with_ not in team.members:
        return await _page(request, visitor, error="who", form=form, status=422)
    try:
        await propose(request.app, visitor.principal(Role.staff), data)
    except ApiError as exc:
        if exc.status == 422:
            return await _page(request, visitor, error="who", form=form, status=422)
        raise
    return see_other("/swaps?" + urlencode({"done": "proposed"}))


async def _act(request: web.Request, visitor: Visitor, what: str) -> web.Response:
    override = await existing(request.app, request.match_info["id"])
    principal = visitor.principal(Role.staff)
    if what == "withdrawn":
        await withdraw(request.app, principal, override)
    else:
        await answer(request.app, principal, override, accept=what == "accepted")
    return see_other("/swaps?" + urlencode({"done": what}))


@routes.post("/swaps/{id}/accept", name="ui_swaps_accept")
@signed_in(Role.staff)
async def swaps_accept(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _act(request, visitor, "accepted")


@routes.post("/swaps/{id}/decline", name="ui_swaps_decline")
@signed_in(Role.staff)
async def swaps_decline(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _act(request, visitor, "declined")


@routes.post("/swaps/{id}/withdraw", name="ui_swaps_withdraw")
@signed_in(Role.staff)
async def swaps_withdraw(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _act(request, visitor, "withdrawn")
