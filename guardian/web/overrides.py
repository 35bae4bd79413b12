"""Overrides (HR) and swaps (staff): who is on duty, changed for a period, with an audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.engine.schedule_changes import Notice, created_notices, on_call_runs, tell
from guardian.errors import ApiError, FieldError, not_found
from guardian.policy.model import Policy
from guardian.schedule.fairness import LongRun
from guardian.schemas import AuditEventPublic, OverrideIn, OverridePublic, SwapIn
from guardian.storage.audit import list_audit
from guardian.storage.db import utcnow
from guardian.storage.models import DutyOverride
from guardian.storage.overrides import (
    active_overrides,
    create_override,
    decide_override,
    get_override,
    list_overrides,
)
from guardian.types import OverrideStatus, Role
from guardian.web.access import requires
from guardian.web.auth import Principal
from guardian.web.bodies import invalid, read_model
from guardian.web.keys import engine_key, policy_key, principal_key, settings_key
from guardian.web.params import optional_instant

routes = web.RouteTableDef()
WEEK = dt.timedelta(days=7)


def _sees_reason(principal: Principal | None, override: DutyOverride) -> bool:
    """An override's reason (a medical leave, a family matter) is for HR and the people it
    concerns."""
    if principal is None or principal.role in (Role.hr, Role.admin):
        return True
    return principal.staff_id is not None and principal.staff_id in (override.person,
                                                                      override.replaces)


def public(override: DutyOverride, principal: Principal | None = None) -> OverridePublic:
    """The override as `principal` may read it (None: in full)."""
    return OverridePublic(
        id=override.id or 0, team=override.team, kind=override.kind, person=override.person,
        replaces=override.replaces, start=override.starts_at, end=override.ends_at,
        reason=override.reason if _sees_reason(principal, override) else "",
        status=override.status, created_by=override.created_by,
        created_at=override.created_at, decided_by=override.decided_by,
        decided_at=override.decided_at)


def policy_of(request: web.Request) -> Policy:
    policy = request.app[policy_key].policy
    if policy is None:
        raise ApiError(503, "policy_unavailable",
                       "The duty policy did not load; fix it (see /health) and try again.")
    return policy


def _check_people(policy: Policy, team: str, people: dict[str, str | None]) -> None:
    problems = []
    if team not in {t.id for t in policy.teams}:
        problems.append(FieldError("team", f"`{team}` is not a team in the policy."))
    staff = policy.staff_by_id()
    for field, person in people.items():
        if person is not None and person not in staff:
            problems.append(FieldError(field, f"`{person}` is not a member of staff."))
    if problems:
        raise invalid(problems)


def _json(override: DutyOverride, status: int = 200, warnings: list[str] | None = None
          ) -> web.Response:
    body = public(override).model_dump(mode="json")
    if warnings is not None:
        body["warnings"] = warnings
    return web.json_response(body, status=status)


async def _tell(app: web.Application, conn: AsyncConnection, override: DutyOverride,
                notices: list[Notice]) -> None:
    policy = app[policy_key].policy
    if policy is not None:
        await tell(conn, override, notices, policy, utcnow(), app[settings_key].base_url)


async def long_runs_for(app: web.Application, people: Sequence[str]) -> list[LongRun]:
    """Who of `people` the schedule, with the overrides in force, keeps on call for more
    weeks running than the policy allows, in the weeks ahead (for a page to word)."""
    policy = app[policy_key].policy
    if policy is None:
        return []
    now = utcnow()
    horizon = WEEK * (max(8, 2 * policy.on_call_limits.max_consecutive_weeks + 2) + 1)
    overrides = await active_overrides(app[engine_key], start=now - WEEK, end=now + horizon)
    return on_call_runs(policy, now, overrides, people)


async def _warnings(app: web.Application, people: list[str]) -> list[str]:
    """Who this change keeps on call for more weeks running than the policy allows."""
    policy = app[policy_key].policy
    if policy is None:
        return []
    limit = policy.on_call_limits.max_consecutive_weeks
    return [run.sentence(policy, limit) for run in await long_runs_for(app, people)]


@routes.get("/api/v1/overrides", name="overrides")
@requires(Role.hr, Role.staff, Role.moderator)
async def overrides(request: web.Request) -> web.Response:
    """Active (and, with `status=all`, every) override of a team or all, in a period."""
    team = request.query.get("team")
    start = optional_instant(request, "from")
    end = optional_instant(request, "to")
    wanted = tuple(OverrideStatus) if request.query.get("status") == "all" else (
        OverrideStatus.active, OverrideStatus.proposed, OverrideStatus.accepted)
    found = await list_overrides(engine=request.app[engine_key], team=team, starts=start,
                                 ends=end, statuses=wanted)
    principal = request[principal_key]
    body = [public(o, principal).model_dump(mode="json") for o in found]
    return web.json_response({"overrides": body})


@routes.post("/api/v1/overrides", name="create_override")
@requires(Role.hr)
async def create(request: web.Request) -> web.Response:
    """Replace, add or remove a person for a period (sick leave, holiday), with a reason."""
    data = await read_model(request, OverrideIn)
    override, warnings = await create_override_for(request.app, request[principal_key], data)
    return _json(override, 201, warnings)


async def create_override_for(app: web.Application, principal: Principal, data: OverrideIn
                              ) -> tuple[DutyOverride, list[str]]:
    """HR's override, in force at once (the API and HR's overrides page); with the
    on-call warnings it raises."""
    policy = app[policy_key].policy
    if policy is None:
        raise ApiError(503, "policy_unavailable",
                       "The duty policy did not load; fix it (see /health) and try again.")
    _check_people(policy, data.team, {"person": data.person, "replaces": data.replaces})
    async with app[engine_key].begin() as conn:
        override = await create_override(
            conn=conn, team=data.team, kind=data.kind, person=data.person,
            replaces=data.replaces, starts_at=data.start, ends_at=data.end, reason=data.reason,
            created_by=principal.actor, status=OverrideStatus.active)
        await _tell(app, conn, override, created_notices(data.kind, data.person, data.replaces))
    people = [data.person, *([data.replaces] if data.replaces else [])]
    return override, await _warnings(app, people)


async def _existing(request: web.Request) -> DutyOverride:
    return await existing(request.app, request.match_info["id"])


async def existing(app: web.Application, raw: str) -> DutyOverride:
    """The override `raw` names; 422 for what is not an id, 404 for none."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise invalid([FieldError("id", "must be a whole number.")])
    async with app[engine_key].connect() as conn:
        override = await get_override(conn=conn, override_id=int(raw))
    if override is None:
        raise not_found(f"Override {raw}")
    return override


Decided = tuple[DutyOverride, list[str] | None]   # the override, and on-call warnings


async def _decide(app: web.Application, principal: Principal, override: DutyOverride,
                  status: OverrideStatus, action: str, notices: list[Notice] | None = None
                  ) -> Decided:
    try:
        async with app[engine_key].begin() as conn:
            changed = await decide_override(conn=conn, override=override, status=status,
                                            by=principal.actor, action=action)
            await _tell(app, conn, changed, notices or [])
    except LookupError:
        raise ApiError(409, "conflict", f"Override {override.id} changed meanwhile; read it "
                       "again.") from None
    warnings = None
    if status == OverrideStatus.active:
        warnings = await _warnings(app, [changed.person])
    return changed, warnings


@routes.delete("/api/v1/overrides/{id}", name="cancel_override")
@requires(Role.hr, Role.staff)
async def cancel(request: web.Request) -> web.Response:
    """Cancel an override (HR), or withdraw one's own swap proposal (staff)."""
    override = await _existing(request)
    changed, warnings = await withdraw(request.app, request[principal_key], override)
    return _json(changed, warnings=warnings)


async def withdraw(app: web.Application, principal: Principal, override: DutyOverride
                   ) -> Decided:
    """HR cancels an override; staff withdraw their own swap proposal (the API and the
    swaps page)."""
    if principal.role == Role.staff and not (
            override.status == OverrideStatus.proposed.value
            and override.replaces == principal.staff_id):
        raise ApiError(403, "forbidden", "Staff may withdraw only their own swap proposals.")
    if override.status not in (OverrideStatus.active.value, OverrideStatus.proposed.value,
                               OverrideStatus.accepted.value):
        raise ApiError(409, "conflict", f"Override {override.id} is already {override.status}.")
    if principal.role == Role.staff:
        notices: list[Notice] = [
            ("swap_withdrawn", override.person, principal.staff_id or "", None)]
    else:
        notices = [("override_cancelled", p, "hr", None)
                   for p in dict.fromkeys([override.person, override.replaces]) if p]
    return await _decide(app, principal, override, OverrideStatus.cancelled,
                         "override.cancel", notices)


def _staff_id(principal: Principal) -> str:
    if principal.staff_id is None:
        raise ApiError(403, "forbidden", "This staff token names no member of staff; create "
                       "one with `guardian tokens create --role staff --staff ID`.")
    return principal.staff_id


@routes.post("/api/v1/swaps", name="propose_swap")
@requires(Role.staff)
async def propose_swap(request: web.Request) -> web.Response:
    """Ask `with` to take one's duty for a period; it applies once they (or HR) accept."""
    data = await read_model(request, SwapIn)
    return _json(await propose(request.app, request[principal_key], data), 201)


async def propose(app: web.Application, principal: Principal, data: SwapIn
                  ) -> DutyOverride:
    """A staff member's swap proposal (the API and the swaps page)."""
    me = _staff_id(principal)
    if data.with_ == me:
        raise invalid([FieldError("with", "must be someone else.")])
    policy = app[policy_key].policy
    if policy is None:
        raise ApiError(503, "no_policy", "The duty policy did not load; see /health.")
    _check_people(policy, data.team, {"with": data.with_})
    async with app[engine_key].begin() as conn:
        override = await create_override(
            conn=conn, team=data.team, kind="replace", person=data.with_, replaces=me,
            starts_at=data.start, ends_at=data.end, reason=data.reason,
            created_by=principal.actor, status=OverrideStatus.proposed)
        await _tell(app, conn, override, [("swap_proposed", data.with_, me, None)])
    return override


async def _answer_swap(request: web.Request, accept: bool) -> web.Response:
    override = await _existing(request)
    changed, warnings = await answer(request.app, request[principal_key], override, accept)
    return _json(changed, warnings=warnings)


async def answer(app: web.Application, principal: Principal, override: DutyOverride,
                 accept: bool) -> Decided:
    """The colleague asked (or HR) accepts or declines a swap (the API and the page)."""
    waiting = override.status == OverrideStatus.accepted.value
    if override.status != OverrideStatus.proposed.value and not (
            waiting and principal.role == Role.hr):
        raise ApiError(409, "conflict", f"Swap {override.id} is {override.status}, not "
                       "waiting for an answer.")
    if principal.role == Role.staff and _staff_id(principal) != override.person:
        raise ApiError(403, "forbidden", "Only the person asked (or HR) may answer a swap.")
    asker, asked = override.replaces or "", override.person
    if not accept:
        # The colleague says no; or HR turns down a swap the two had agreed on.
        notices: list[Notice] = (
            [("override_cancelled", p, "hr", None) for p in (asker, asked)]
            if waiting or principal.role == Role.hr else
            [("swap_declined", asker, asked, None)])
        return await _decide(app, principal, override, OverrideStatus.declined,
                             "swap.decline", notices)
    policy = app[policy_key].policy
    if principal.role == Role.hr:
        # HR's answer is final: accepting, or approving what the two agreed on.
        return await _decide(app, principal, override, OverrideStatus.active,
                             "swap.approve" if waiting else "swap.accept",
                             [("swap_approved", p, asked, asker) for p in (asker, asked)])
    if policy is not None and policy.swaps.require_approval:
        hr = policy.hr_contacts()
        return await _decide(app, principal, override, OverrideStatus.accepted,
                             "swap.accept", [("swap_awaiting_approval", p, asked, asker)
                                             for p in dict.fromkeys([asker, *hr])])
    return await _decide(app, principal, override, OverrideStatus.active, "swap.accept",
                         [("swap_accepted", asker, asked, None)])


@routes.post("/api/v1/swaps/{id}/accept", name="accept_swap")
@requires(Role.staff, Role.hr)
async def accept_swap(request: web.Request) -> web.Response:
    """Accept a swap: the override becomes active."""
    return await _answer_swap(request, accept=True)


@routes.post("/api/v1/swaps/{id}/approve", name="approve_swap")
@requires(Role.hr)
async def approve_swap(request: web.Request) -> web.Response:
    """Approve a swap both colleagues agreed on (`swaps.require_approval`): it applies."""
    return await _answer_swap(request, accept=True)


@routes.post("/api/v1/swaps/{id}/decline", name="decline_swap")
@requires(Role.staff, Role.hr)
async def decline_swap(request: web.Request) -> web.Response:
    """Decline a swap: nothing changes on the schedule."""
    return await _answer_swap(request, accept=False)


@routes.get("/api/v1/audit", name="audit")
@requires(Role.hr)
async def audit_log(request: web.Request) -> web.Response:
    """The newest audit events first; `before` (an id) pages back."""
    before = request.query.get("before")
    # 18 digits at most: a larger number is no id, and overflows PostgreSQL's bigint.
    if before is not None and not (before.isascii() and before.isdigit()
                                   and len(before) <= 18):
        raise invalid([FieldError("before", "must be an event id.")])
    events = await list_audit(engine=request.app[engine_key],
                              before_id=int(before) if before else None)
    return web.json_response({"events": [
        AuditEventPublic(id=e.id or 0, at=e.at, actor=e.actor, action=e.action,
                         subject=e.subject, details=e.details).model_dump(mode="json")
        for e in events]})
