"""Who is on duty and on call, a team's shifts, and iCal feeds behind secret links."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from guardian.errors import ApiError, FieldError, not_found
from guardian.policy.model import Policy
from guardian.schedule import team_shifts
from guardian.schedule.views import shift_json, who_is_on
from guardian.storage.audit import audit
from guardian.storage.calendar_links import generation, revoke
from guardian.storage.overrides import active_overrides
from guardian.types import Role
from guardian.web.access import public, requires
from guardian.web.bodies import invalid, read_payload
from guardian.web.calendar import (
    CALENDAR_AHEAD,
    CALENDAR_PAST,
    calendar_token,
    calendar_token_valid,
    feed_span,
    person_calendar,
    team_calendar,
)
from guardian.web.keys import engine_key, principal_key, settings_key
from guardian.web.overrides import policy_of
from guardian.web.params import optional_instant

routes = web.RouteTableDef()
MAX_SHIFTS_WINDOW = dt.timedelta(days=92)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _team(policy: Policy, team_id: str, field: str = "team") -> str:
    if team_id not in policy.team_index:
        raise invalid([FieldError(field, f"`{team_id}` is not a team in the policy.")])
    return team_id


@routes.get("/api/v1/oncall", name="oncall")
@requires(Role.staff, Role.moderator, Role.hr)
async def oncall(request: web.Request) -> web.Response:
    """On duty and on call for every team (or `team`) at `at` (default now), with why."""
    policy = policy_of(request)
    at = optional_instant(request, "at") or _now()
    team = request.query.get("team")
    teams = [_team(policy, team)] if team else [t.id for t in policy.teams]
    overrides = await active_overrides(request.app[engine_key], start=at,
                                       end=at + dt.timedelta(seconds=1))
    return web.json_response({"teams": [who_is_on(policy, t, at, overrides) for t in teams]})


@routes.get("/api/v1/teams/{id}/shifts", name="shifts")
@requires(Role.staff, Role.moderator, Role.hr)
async def shifts(request: web.Request) -> web.Response:
    """A team's shifts between `from` and `to` (at most 92 days), duty or `role=on_call`."""
    policy = policy_of(request)
    team = _team(policy, request.match_info["id"], "id")
    start = optional_instant(request, "from")
    end = optional_instant(request, "to")
    if start is None or end is None:
        raise invalid([FieldError("from" if start is None else "to",
                                  "is required (an ISO 8601 instant).")])
    if not start < end <= start + MAX_SHIFTS_WINDOW:
        raise invalid([FieldError("to", "must be after `from`, by at most 92 days.")])
    role = request.query.get("role", "duty")
    if role not in ("duty", "on_call"):
        raise invalid([FieldError("role", "must be `duty` or `on_call`.")])
    overrides = await active_overrides(request.app[engine_key], start=start, end=end)
    found = team_shifts(policy, team, start, end, role=role,  # type: ignore[arg-type]
                        overrides=overrides)
    return web.json_response({"team": team, "role": role,
                              "shifts": [shift_json(policy, s) for s in found]})


@routes.get("/api/v1/calendar-links", name="calendar_links")
@requires(Role.staff, Role.hr)
async def calendar_links(request: web.Request) -> web.Response:
    """The secret iCal link of a person (`person`) or a team (`team`).

    Staff get their own and their teams' links; HR any. Anyone holding a link can read
    that calendar: share it like a password.
    """
    policy = policy_of(request)
    principal = request[principal_key]
    person, team = request.query.get("person"), request.query.get("team")
    if (person is None) == (team is None):
        raise invalid([FieldError("person", "give exactly one of `person` or `team`.")])
    if person is not None:
        if person not in policy.people:
            raise invalid([FieldError("person", f"`{person}` is not a member of staff.")])
        kind, ident = "person", person
        allowed = principal.staff_id == person
    else:
        kind, ident = "team", _team(policy, team or "")
        allowed = principal.staff_id in policy.team_index[ident].members
    if principal.role == Role.staff and not allowed:
        raise ApiError(403, "forbidden", "Staff may get only their own and their teams' "
                       "calendar links.")
    async with request.app[engine_key].connect() as conn:
        current = await generation(conn=conn, kind=kind, ident=ident)
    token = calendar_token(request.app[settings_key].secret_key, kind, ident, current)
    # From GUARDIAN_PUBLIC_URL, never the request's Host header (which a client sets).
    url = f"{request.app[settings_key].base_url}/ical/{kind}/{ident}/{token}.ics"
    return web.json_response({"kind": kind, "id": ident, "url": url,
                              "covers_days": {"past": CALENDAR_PAST.days,
                                              "ahead": CALENDAR_AHEAD.days}})


@routes.post("/api/v1/calendar-links/revoke", name="revoke_calendar_link")
@requires(Role.staff, Role.hr)
async def revoke_calendar_link(request: web.Request) -> web.Response:
    """Revoke a calendar link (a lost phone, a link shared too widely): the links given
    out so far stop working, a new one is answered. Staff their own; HR any. Audited."""
    policy = policy_of(request)
    principal = request[principal_key]
    data = await read_payload(request)
    if not isinstance(data, dict) or (("person" in data) == ("team" in data)):
        raise invalid([FieldError("person", "give exactly one of `person` or `team`.")])
    if "person" in data:
        kind, ident = "person", str(data["person"])
        if ident not in policy.people:
            raise invalid([FieldError("person", f"`{ident[:64]}` is not a member of staff.")])
        allowed = principal.staff_id == ident
    else:
        kind, ident = "team", _team(policy, str(data["team"]))
        allowed = False  # a team's link is HR's to revoke: its members share it
    if principal.role == Role.staff and not allowed:
        raise ApiError(403, "forbidden", "Staff may revoke only their own calendar link; "
                       "a team's is HR's to revoke.")
    async with request.app[engine_key].begin() as conn:
        current = await revoke(conn=conn, kind=kind, ident=ident, now=_now())
        await audit(conn=conn, actor=principal.actor, action="calendar.revoke",
                    subject=f"calendar:{kind}:{ident}", details={"generation": current})
    token = calendar_token(request.app[settings_key].secret_key, kind, ident, current)
    url = f"{request.app[settings_key].base_url}/ical/{kind}/{ident}/{token}.ics"
    return web.json_response({"kind": kind, "id": ident, "url": url, "revoked": True})


async def _ical(request: web.Request, kind: str) -> web.Response:
    ident, token = request.match_info["id"], request.match_info["token"]
    secret = request.app[settings_key].secret_key
    async with request.app[engine_key].connect() as conn:
        current = await generation(conn=conn, kind=kind, ident=ident[:64])
    if not calendar_token_valid(secret, kind, ident, token, current):
        raise not_found("This calendar")  # never say whether the id exists
    policy = policy_of(request)
    now = _now()
    span_start, span_end = feed_span(now)
    overrides = await active_overrides(request.app[engine_key], start=span_start,
                                       end=span_end)
    if kind == "person":
        if ident not in policy.people:
            raise not_found("This calendar")
        body = person_calendar(policy, ident, now, overrides)
    else:
        if ident not in policy.team_index:
            raise not_found("This calendar")
        body = team_calendar(policy, ident, now, overrides)
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Cache-Control": "private, max-age=300"})


@routes.get("/ical/person/{id}/{token}.ics", name="ical_person")
@public
async def ical_person(request: web.Request) -> web.Response:
    """A person's duty as iCal; the secret link is the credential (calendar apps send no
    tokens)."""
    return await _ical(request, "person")


@routes.get("/ical/team/{id}/{token}.ics", name="ical_team")
@public
async def ical_team(request: web.Request) -> web.Response:
    """A team's shifts as iCal, gaps included; the secret link is the credential."""
    return await _ical(request, "team")
