"""HR's pages: the teams' schedule as a timeline of weeks (who is on duty and on call each
day, gaps in red and in words, the town's holidays), and the overrides and swaps (create,
approve, decline, cancel). What the schedule shows comes from the schedule's pure
functions with the overrides in force; every change goes through the API's own rules
(guardian.web.overrides: create_override_for, answer, withdraw). Times on the town's
clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from guardian.errors import ApiError
from guardian.policy.model import Policy
from guardian.policy.names import person_name, team_name
from guardian.schedule.coverage import team_gaps
from guardian.schedule.duty import Shift, team_shifts
from guardian.schedule.holidays import holiday_name
from guardian.schedule.intervals import Interval
from guardian.schedule.localtime import resolve
from guardian.schemas import OverrideIn
from guardian.storage.db import utcnow
from guardian.storage.models import DutyOverride
from guardian.storage.overrides import active_overrides, list_overrides
from guardian.types import OverrideStatus, Role
from guardian.web.keys import engine_key
from guardian.web.overrides import answer, create_override_for, existing, policy_of, withdraw
from guardian.web.ui.render import see_other
from guardian.web.ui.sessions import Visitor, page, signed_in

routes = web.RouteTableDef()

DEFAULT_WEEKS = 4
MAX_WEEKS = 12
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHOWN_BACK = dt.timedelta(days=30)   # closed overrides stay listed this long
DONE = frozenset({"created", "approved", "declined", "cancelled"})
KINDS = ("replace", "add", "remove")


def _zone(policy: Policy) -> ZoneInfo:
    return ZoneInfo(policy.town.timezone)


def _clock(at: dt.datetime, zone: ZoneInfo, day_end: dt.datetime) -> str:
    """A time of day on the town's clock; a day's end is 24:00, not the next 00:00."""
    return "24:00" if at >= day_end else at.astimezone(zone).strftime("%H:%M")


def _pieces(shifts: Sequence[Shift], start: dt.datetime, end: dt.datetime, zone: ZoneInfo,
            policy: Policy) -> list[dict[str, Any]]:
    """The shifts with someone in [start, end), cut to it, as rows for the page."""
    return [{"from": _clock(max(s.start, start), zone, end),
             "until": _clock(min(s.end, end), zone, end),
             "people": ", ".join(person_name(policy, p) for p in sorted(s.people)),
             "changed": any(src.kind == "override" for src in s.sources)}
            for s in shifts if not s.gap and s.start < end and s.end > start]


def _gaps(gaps: Sequence[Interval], start: dt.datetime, end: dt.datetime, zone: ZoneInfo
          ) -> list[dict[str, str]]:
    return [{"from": _clock(max(s, start), zone, end), "until": _clock(min(e, end), zone, end)}
            for s, e in gaps if s < end and e > start]


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _period(request: web.Request, policy: Policy, zone: ZoneInfo
            ) -> tuple[dt.date, int, str | None, str]:
    """The first Monday, the number of weeks and the team asked for, and the error's kind
    ("" when the query is good; the defaults stand in for what is not)."""
    first = monday_of(utcnow().astimezone(zone).date())
    weeks, team, error = DEFAULT_WEEKS, None, ""
    raw_weeks = request.query.get("weeks", "")
    if raw_weeks:
        if raw_weeks.isascii() and raw_weeks.isdigit() and 1 <= int(raw_weeks) <= MAX_WEEKS:
            weeks = int(raw_weeks)
        else:
            error = "weeks"
    raw_from = request.query.get("from", "")
    if raw_from:
        try:
            asked = dt.date.fromisoformat(raw_from)
        except ValueError:
            asked = None
        if asked is not None and asked.weekday() == 0:
            first = asked
        else:
            error = "from"
    raw_team = request.query.get("team", "")
    if raw_team:
        if raw_team in policy.team_index:
            team = raw_team
        else:
            error = "team"
    return first, weeks, team, error


@routes.get("/hr/schedule", name="ui_hr_schedule")
@signed_in(Role.hr)
async def schedule(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    zone = _zone(policy)
    first, weeks, only, error = _period(request, policy, zone)
    days = [first + dt.timedelta(days=i) for i in range(7 * weeks + 1)]
    bounds = [resolve(dt.datetime.combine(d, dt.time()), zone) for d in days]
    start, end = bounds[0], bounds[-1]
    overrides = await active_overrides(request.app[engine_key], start=start, end=end)
    gaps = {g.team: g.gaps for g in team_gaps(policy, start, end, overrides)}
    calendar = policy.town.holidays
    teams = []
    for team in policy.teams:
        if only is not None and team.id != only:
            continue
        duty = team_shifts(policy, team.id, start, end, role="duty", overrides=overrides)
        call = team_shifts(policy, team.id, start, end, role="on_call", overrides=overrides)
        shown_weeks: list[dict[str, Any]] = []
        gap_count = 0
        for w in range(weeks):
            rows: list[dict[str, Any]] = []
            for i in range(7 * w, 7 * w + 7):
                day_start, day_end = bounds[i], bounds[i + 1]
                day_gaps = _gaps(gaps.get(team.id, ()), day_start, day_end, zone)
                gap_count += len(day_gaps)
                rows.append({
                    "weekday": DAYS[days[i].weekday()],
                    "date": days[i].strftime("%d/%m"),
                    "duty": _pieces(duty, day_start, day_end, zone, policy),
                    "on_call": _pieces(call, day_start, day_end, zone, policy),
                    "gaps": day_gaps,
                    "holiday": holiday_name(policy, calendar, days[i]) if calendar else None})
            shown_weeks.append({"first": days[7 * w].strftime("%d/%m/%Y"), "days": rows})
        teams.append({"id": team.id, "name": team.name, "weeks": shown_weeks,
                      "has_on_call": team.on_call is not None, "gap_count": gap_count})
    step = dt.timedelta(days=7 * weeks)
    here = {"weeks": str(weeks), **({"team": only} if only else {})}
    return page(request, visitor, "hr_schedule.html", {
        "teams": teams, "all_teams": [{"id": t.id, "name": t.name} for t in policy.teams],
        "team": only or "", "weeks": weeks, "max_weeks": MAX_WEEKS,
        "from": first.isoformat(), "zone": str(zone), "error": error,
        "last": days[-2].strftime("%d/%m/%Y"), "first": first.strftime("%d/%m/%Y"),
        "earlier": urlencode({"from": (first - step).isoformat(), **here}),
        "later": urlencode({"from": (first + step).isoformat(), **here})},
        422 if error else 200)


def _row(policy: Policy, o: DutyOverride, zone: ZoneInfo) -> dict[str, Any]:
    return {"id": o.id, "team": team_name(policy, o.team), "kind": o.kind, "status": o.status,
            "person": person_name(policy, o.person), "replaces": person_name(policy, o.replaces),
            "start": o.starts_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            "end": o.ends_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            "swap": o.created_by.startswith("staff:"), "reason": o.reason}


async def _overrides_page(request: web.Request, visitor: Visitor, *, error: str = "",
                          form: dict[str, str] | None = None, status: int = 200,
                          warnings: Sequence[str] = ()) -> web.Response:
    policy = policy_of(request)
    zone = _zone(policy)
    found = await list_overrides(engine=request.app[engine_key],
                                 starts=utcnow() - SHOWN_BACK, statuses=tuple(OverrideStatus))
    rows = [_row(policy, o, zone) for o in found]
    order = {"accepted": 0, "proposed": 1, "active": 2}
    rows.sort(key=lambda r: order.get(r["status"], 3))
    done = request.query.get("done", "")
    return page(request, visitor, "hr_overrides.html", {
        "rows": rows, "zone": str(zone), "error": error, "form": form or {},
        "teams": [{"id": t.id, "name": t.name} for t in policy.teams],
        "people": sorted(({"id": p, "name": s.name} for p, s in policy.people.items()),
                         key=lambda p: p["name"]),
        "done": done if done in DONE else "", "warnings": list(warnings)}, status)


@routes.get("/hr/overrides", name="ui_hr_overrides")
@signed_in(Role.hr)
async def overrides_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _overrides_page(request, visitor)


def _instant(raw: str, zone: ZoneInfo) -> str | None:
    """A `datetime-local` field (the town's wall clock) as an ISO instant, or None."""
    try:
        local = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if local.tzinfo is not None:
        return None
    return resolve(local, zone).isoformat()


@routes.post("/hr/overrides", name="ui_hr_overrides_create")
@signed_in(Role.hr)
async def overrides_create(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    zone = _zone(policy)
    posted = await request.post()
    form = {k: str(posted.get(k, ""))[:500] for k in ("team", "kind", "person", "replaces",
                                                       "start", "end", "reason")}
    start, end = _instant(form["start"], zone), _instant(form["end"], zone)
    if start is None or end is None:
        return await _overrides_page(request, visitor, error="times", form=form, status=422)
    if form["kind"] not in KINDS:
        return await _overrides_page(request, visitor, error="who", form=form, status=422)
    replaces = form["replaces"] if form["kind"] == "replace" else ""
    if (form["kind"] == "replace") != bool(replaces) or replaces == form["person"]:
        return await _overrides_page(request, visitor, error="replaces", form=form,
                                     status=422)
    try:
        data = OverrideIn.model_validate({
            "team": form["team"], "kind": form["kind"], "person": form["person"],
            "replaces": replaces or None, "start": start, "end": end,
            "reason": form["reason"]})
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        kind = ("reason" if "reason" in fields
                else "who" if fields & {"team", "person", "replaces"} else "order")
        return await _overrides_page(request, visitor, error=kind, form=form, status=422)
    if data.team not in policy.team_index or data.person not in policy.people or (
            data.replaces is not None and data.replaces not in policy.people):
        return await _overrides_page(request, visitor, error="who", form=form, status=422)
    try:
        _, warnings = await create_override_for(request.app, visitor.principal(Role.hr), data)
    except ApiError as exc:
        if exc.status == 422:
            return await _overrides_page(request, visitor, error="who", form=form,
                                         status=422)
        raise
    if warnings:
        # Shown once, on the page itself: the override is in force.
        return await _overrides_page(request, visitor, warnings=warnings)
    return see_other("/hr/overrides?" + urlencode({"done": "created"}))


async def _act(request: web.Request, visitor: Visitor, what: str) -> web.Response:
    override = await existing(request.app, request.match_info["id"])
    principal = visitor.principal(Role.hr)
    if what == "cancelled":
        await withdraw(request.app, principal, override)
    else:
        await answer(request.app, principal, override, accept=what == "approved")
    return see_other("/hr/overrides?" + urlencode({"done": what}))


@routes.post("/hr/overrides/{id}/approve", name="ui_hr_overrides_approve")
@signed_in(Role.hr)
async def overrides_approve(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _act(request, visitor, "approved")


@routes.post("/hr/overrides/{id}/decline", name="ui_hr_overrides_decline")
@signed_in(Role.hr)
async def overrides_decline(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _act(request, visitor, "declined")


@routes.post("/hr/overrides/{id}/cancel", name="ui_hr_overrides_cancel")
@signed_in(Role.hr)
async def overrides_cancel(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _act(request, visitor, "cancelled")
