"""HR's pages: the teams' schedule as a timeline of weeks (who is on duty and on call each
day, gaps in red and in words, the town's holidays and those of people's own calendars,
on-call weeks in a row per person), the overrides and swaps (create, approve, decline,
cancel), the holiday calendars year by year, and the policy in force with its errors.
What the schedule shows comes from the schedule's pure functions with the overrides in
force; every change goes through the API's own rules (guardian.web.overrides:
create_override_for, answer, withdraw). Times on the town's clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from guardian.errors import ApiError
from guardian.policy.model import Policy, Team
from guardian.policy.names import category_name, person_name, team_name
from guardian.policy.public_holidays import YEARS
from guardian.schedule.coverage import team_gaps
from guardian.schedule.duty import Shift, team_shifts
from guardian.schedule.fairness import ON_CALL_WEEK, longest_run, on_call_hours, runs_over
from guardian.schedule.holidays import (
    calendar_days,
    followers,
    holiday_name,
    own_calendar_holidays,
)
from guardian.schedule.intervals import Interval
from guardian.schedule.localtime import resolve
from guardian.schedule.overrides import Override
from guardian.schemas import OverrideIn
from guardian.storage.db import utcnow
from guardian.storage.models import DutyOverride
from guardian.storage.overrides import active_overrides, list_overrides
from guardian.types import OverrideStatus, Role
from guardian.web.keys import engine_key
from guardian.web.overrides import (
    answer,
    create_override_for,
    existing,
    long_runs_for,
    policy_of,
    withdraw,
)
from guardian.web.ui.admin import policy_state
from guardian.web.ui.render import form_instant, see_other
from guardian.web.ui.sessions import Visitor, page, signed_in

routes = web.RouteTableDef()

DEFAULT_WEEKS = 4
MAX_WEEKS = 12
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHOWN_BACK = dt.timedelta(days=30)   # closed overrides stay listed this long
DONE = frozenset({"created", "approved", "declined", "cancelled"})
KINDS = ("replace", "add", "remove")
YEAR_RANGE = (2000, 2100)  # years the holidays page shows


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


def _team_people(policy: Policy, team: Team) -> list[str]:
    """The team's members, then anyone else its rotations name, each once."""
    people = dict.fromkeys(team.members)
    for rotation_id in (team.duty, team.on_call):
        rotation = policy.rotation_index.get(rotation_id) if rotation_id else None
        for layer in rotation.layers if rotation is not None else ():
            people.update(dict.fromkeys(layer.members))
    return list(people)


def _on_call_weeks(policy: Policy, start: dt.datetime, days: Sequence[dt.date], weeks: int,
                   overrides: Sequence[Override]) -> list[dict[str, Any]]:
    """Per person on call in the weeks shown (any team, overrides applied): which weeks
    count as on-call weeks, the most in a row, and each run over the policy's limit, as
    `guardian policies check` words it."""
    limit = policy.on_call_limits.max_consecutive_weeks
    hours = on_call_hours(policy, start, weeks, overrides)
    runs = runs_over(policy, start, hours, limit)
    zone = _zone(policy)
    rows = []
    for person, row in hours.items():
        longest = longest_run(row)
        rows.append({
            "name": person_name(policy, person),
            "weeks": [days[7 * n].strftime("%d/%m") for n, spent in enumerate(row)
                      if spent > ON_CALL_WEEK],
            "longest": longest, "over": longest > limit,
            "runs": [{"weeks": r.weeks, "from": f"{r.start.astimezone(zone):%Y-%m-%d}"}
                     for r in runs if r.person == person]})
    return sorted(rows, key=lambda r: (not r["over"], r["name"]))


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
        people = _team_people(policy, team)
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
                    "holiday": holiday_name(policy, calendar, days[i]) if calendar else None,
                    "own_holidays": [
                        {"person": person_name(policy, p), "name": name}
                        for p, name in own_calendar_holidays(policy, people, days[i])]})
            shown_weeks.append({"first": days[7 * w].strftime("%d/%m/%Y"), "days": rows})
        teams.append({"id": team.id, "name": team.name, "weeks": shown_weeks,
                      "has_on_call": team.on_call is not None, "gap_count": gap_count})
    step = dt.timedelta(days=7 * weeks)
    here = {"weeks": str(weeks), **({"team": only} if only else {})}
    return page(request, visitor, "hr_schedule.html", {
        "teams": teams, "all_teams": [{"id": t.id, "name": t.name} for t in policy.teams],
        "on_call": _on_call_weeks(policy, start, days, weeks, overrides),
        "limit": policy.on_call_limits.max_consecutive_weeks,
        "team": only or "", "weeks": weeks, "max_weeks": MAX_WEEKS,
        "from": first.isoformat(), "zone": str(zone), "error": error,
        "last": days[-2].strftime("%d/%m/%Y"), "first": first.strftime("%d/%m/%Y"),
        "earlier": urlencode({"from": (first - step).isoformat(), **here}),
        "later": urlencode({"from": (first + step).isoformat(), **here})},
        422 if error else 200)


# --- holidays ---------------------------------------------------------------------------

def _year(request: web.Request, zone: ZoneInfo) -> tuple[int, str]:
    """The year asked for (default: this year on the town's clock), and the error's kind."""
    year = utcnow().astimezone(zone).year
    raw = request.query.get("year", "")
    if not raw:
        return year, ""
    if raw.isascii() and raw.isdigit() and len(raw) == 4 and (
            YEAR_RANGE[0] <= int(raw) <= YEAR_RANGE[1]):
        return int(raw), ""
    return year, "year"


@routes.get("/hr/holidays", name="ui_hr_holidays")
@signed_in(Role.hr)
async def holidays_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """Each holiday calendar's days in a year, with where each comes from (the `holidays`
    package's national or regional days, a local day written in the policy, or a calendar
    it includes), and who follows it."""
    policy = policy_of(request)
    year, error = _year(request, _zone(policy))
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    index = policy.calendar_index
    calendars = []
    for calendar in policy.holiday_calendars:
        own, by_default = followers(policy, calendar.id)
        rows = []
        for day in calendar_days(policy, calendar.id, first, last):
            source = index[day.calendar]
            rows.append({
                "date": day.date.strftime("%d/%m/%Y"), "iso": day.date.isoformat(),
                "weekday": DAYS[day.date.weekday()], "name": day.name,
                "origin": day.origin,
                "code": (source.country if day.origin == "national" else
                         "-".join(c for c in (source.country, source.subdivision) if c)),
                "via": source.name if source.id != calendar.id else ""})
        calendars.append({
            "id": calendar.id, "name": calendar.name, "country": calendar.country or "",
            "subdivision": calendar.subdivision or "", "days": rows,
            "includes": [index[i].name for i in calendar.include if i in index],
            "included_by": [c.name for c in policy.holiday_calendars
                            if calendar.id in c.include],
            "town": policy.town.holidays == calendar.id,
            "own": [person_name(policy, p) for p in own],
            "by_default": [person_name(policy, p) for p in by_default]})
    from_package = any(c.country for c in policy.holiday_calendars)
    return page(request, visitor, "hr_holidays.html", {
        "year": year, "calendars": calendars, "error": error,
        "years": YEAR_RANGE, "package_years": (YEARS[0], YEARS[-1]),
        "outside_package": from_package and year not in YEARS,
        "earlier": year - 1 if year > YEAR_RANGE[0] else None,
        "later": year + 1 if year < YEAR_RANGE[1] else None,
        "zone": policy.town.timezone}, 422 if error else 200)


# --- the policy in force ----------------------------------------------------------------

@routes.get("/hr/policy", name="ui_hr_policy")
@signed_in(Role.hr)
async def policy_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """What the admin's policy page shows (the shared `policy_state`), less the server's
    directory and the reload button, and with the policy's outline HR edits: teams,
    rotations, holiday calendars, categories."""
    policy = policy_of(request)
    state = policy_state(request)
    state.pop("directory")
    return page(request, visitor, "hr_policy.html", {
        **state, "zone": policy.town.timezone,
        "teams": [{"name": t.name,
                   "members": ", ".join(person_name(policy, m) for m in t.members),
                   "duty": _rotation_name(policy, t.duty),
                   "on_call": _rotation_name(policy, t.on_call),
                   "categories": ", ".join(category_name(policy, c, visitor.lang)
                                           for c in t.categories)} for t in policy.teams],
        "rotations": [{"name": r.name, "zone": r.timezone, "layers": len(r.layers),
                       "members": ", ".join(person_name(policy, m) for m in dict.fromkeys(
                           m for layer in r.layers for m in layer.members))}
                      for r in policy.rotations],
        "calendars": [{"name": c.name,
                       "code": "-".join(x for x in (c.country, c.subdivision) if x),
                       "local": len(c.days), "town": policy.town.holidays == c.id}
                      for c in policy.holiday_calendars],
        "categories": [category_name(policy, c.id, visitor.lang) for c in policy.categories]})


def _rotation_name(policy: Policy, rotation_id: str | None) -> str:
    rotation = policy.rotation_index.get(rotation_id) if rotation_id else None
    return rotation.name if rotation is not None else ""


# --- overrides --------------------------------------------------------------------------

def _row(policy: Policy, o: DutyOverride, zone: ZoneInfo) -> dict[str, Any]:
    return {"id": o.id, "team": team_name(policy, o.team), "kind": o.kind, "status": o.status,
            "person": person_name(policy, o.person), "replaces": person_name(policy, o.replaces),
            "start": o.starts_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            "end": o.ends_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            "swap": o.created_by.startswith("staff:"), "reason": o.reason}


async def _overrides_page(request: web.Request, visitor: Visitor, *, error: str = "",
                          form: dict[str, str] | None = None, status: int = 200
                          ) -> web.Response:
    policy = policy_of(request)
    zone = _zone(policy)
    # After a change, the people it concerned (`check`): those it now keeps on call for
    # more weeks running than the policy allows, worded on the page in its language.
    checked = [p for p in request.query.getall("check", []) if p in policy.people
               ] if request.query.get("done") in ("created", "approved") else []
    warnings = [{"person": person_name(policy, r.person), "weeks": r.weeks,
                 "from": f"{r.start.astimezone(zone):%Y-%m-%d}"}
                for r in await long_runs_for(request.app, checked)] if checked else []
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
        "done": done if done in DONE else "", "warnings": warnings,
        "limit": policy.on_call_limits.max_consecutive_weeks}, status)


@routes.get("/hr/overrides", name="ui_hr_overrides")
@signed_in(Role.hr)
async def overrides_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _overrides_page(request, visitor)


@routes.post("/hr/overrides", name="ui_hr_overrides_create")
@signed_in(Role.hr)
async def overrides_create(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    zone = _zone(policy)
    posted = await request.post()
    form = {k: str(posted.get(k, ""))[:500] for k in ("team", "kind", "person", "replaces",
                                                       "start", "end", "reason")}
    start, end = form_instant(form["start"], zone), form_instant(form["end"], zone)
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
    # Post/redirect/get: a reload does not create it twice. The page words the on-call
    # warnings itself (in the visitor's language) for the people concerned.
    concerned = [data.person, *([data.replaces] if data.replaces else [])] if warnings else []
    return see_other("/hr/overrides?" + urlencode(
        [("done", "created"), *(("check", p) for p in concerned)]))


async def _act(request: web.Request, visitor: Visitor, what: str) -> web.Response:
    override = await existing(request.app, request.match_info["id"])
    principal = visitor.principal(Role.hr)
    if what == "cancelled":
        await withdraw(request.app, principal, override)
        return see_other("/hr/overrides?" + urlencode({"done": what}))
    changed, warnings = await answer(request.app, principal, override,
                                     accept=what == "approved")
    # An approved swap that keeps someone on call too long: said on the page (see above).
    return see_other("/hr/overrides?" + urlencode(
        [("done", what), *([("check", changed.person)] if warnings else [])]))


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
