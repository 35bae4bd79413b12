"""The wellbeing report's page for HR and the mayor (`/report`): one ISO week on the
town's clock, the town's figures, charts drawn here as SVG (night pages and contacts kept
from quiet hours per person; the last eight weeks), the tables per team and per person,
the night pages with who acknowledged them, the storms and the moderators' exposure; and
the same figures as CSV (`/report.csv`). The figures are the API's
(`guardian.report.wellbeing`, docs/report.md); who may read them is `moderation.hr` and
`moderation.report_readers`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from guardian.policy.model import Policy
from guardian.policy.names import person_name, team_name
from guardian.report.wellbeing import (
    Row,
    Week,
    WeekError,
    WellbeingReport,
    last_complete_week,
    parse_week,
    shift,
)
from guardian.schedule.localtime import zone
from guardian.storage.report import wellbeing_report
from guardian.types import Role
from guardian.web.keys import clock_key, engine_key
from guardian.web.overrides import policy_of
from guardian.web.report import csv_response
from guardian.web.ui.sessions import Visitor, page, problem_page, signed_in

routes = web.RouteTableDef()

TREND_WEEKS = 8
# The charts' drawing units (the SVG scales to the screen's width).
WIDTH = 400
BAR = 12          # a bar's thickness
NAME_LINE = 18    # the person's name above their bars
PERSON_GAP = 10
VALUE_ROOM = 40   # right of the longest bar, for its number
LINE_HEIGHT = 180
LINE_LEFT, LINE_RIGHT, LINE_TOP, LINE_BOTTOM = 30, 12, 14, 26
BAR_SERIES = ("night_pages", "kept_from_quiet_hours")
LINE_SERIES = ("kept_from_quiet_hours", "night_pages", "abuse")


def _when(at: dt.datetime | None, tz: ZoneInfo) -> str:
    return "" if at is None else at.astimezone(tz).strftime("%d/%m %H:%M")


def bar_chart(people: Sequence[Row]) -> dict[str, Any]:
    """Night pages and contacts kept from quiet hours, per person who had any: each
    person's name on a line, their two bars under it, the number at each bar's end."""
    shown = [p for p in people if any(getattr(p, s) for s in BAR_SERIES)]
    top = max((getattr(p, s) for p in shown for s in BAR_SERIES), default=0) or 1
    room = WIDTH - VALUE_ROOM
    rows, y = [], 0
    for person in shown:
        name_y = y + NAME_LINE - 5
        bars = []
        y += NAME_LINE
        for series in BAR_SERIES:
            value = getattr(person, series)
            width = round(room * value / top, 1)
            bars.append({"series": series, "value": value, "y": y, "width": width,
                         "text_x": width + 4, "text_y": y + BAR - 2})
            y += BAR + 2
        rows.append({"name": person.name, "name_y": name_y, "bars": bars})
        y += PERSON_GAP
    return {"rows": rows, "height": max(y, 1), "width": WIDTH}


def line_chart(weeks: Sequence[Week], totals: Sequence[Row]) -> dict[str, Any]:
    """The town's totals of the last weeks as lines (contacts kept from quiet hours,
    night pages, abuse kept from staff: shielded and held), with a scale on the left."""
    values = {"kept_from_quiet_hours": [t.kept_from_quiet_hours for t in totals],
              "night_pages": [t.night_pages for t in totals],
              "abuse": [t.shielded + t.held for t in totals]}
    top = max((v for series in values.values() for v in series), default=0) or 1
    inner_w = WIDTH - LINE_LEFT - LINE_RIGHT
    inner_h = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM
    step = inner_w / max(len(weeks) - 1, 1)

    def x(n: int) -> float:
        return round(LINE_LEFT + n * step, 1)

    def y(value: int) -> float:
        return round(LINE_TOP + inner_h * (1 - value / top), 1)

    lines = [{"series": name, "points": " ".join(f"{x(n)},{y(v)}" for n, v in enumerate(vs)),
              "dots": [{"x": x(n), "y": y(v)} for n, v in enumerate(vs)]}
             for name, vs in values.items()]
    ticks = sorted({0, top // 2, top}) if top > 1 else [0, 1]
    return {"lines": lines, "width": WIDTH, "height": LINE_HEIGHT,
            "left": LINE_LEFT, "right": WIDTH - LINE_RIGHT,
            "ticks": [{"value": t, "y": y(t)} for t in ticks],
            "weeks": [{"number": w.number, "x": x(n), "y": LINE_HEIGHT - 8}
                      for n, w in enumerate(weeks)],
            "table": [{"week": w.label, "kept": values["kept_from_quiet_hours"][n],
                       "night_pages": values["night_pages"][n], "abuse": values["abuse"][n]}
                      for n, w in enumerate(weeks)]}


def _rows(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [{**r.to_json(), "minutes": (f"{r.minutes_to_acknowledge:g}"
                                        if r.minutes_to_acknowledge is not None else "")}
            for r in rows]


def _context(report: WellbeingReport, weeks: Sequence[Week], totals: Sequence[Row],
             policy: Policy, now: dt.datetime) -> dict[str, Any]:
    tz = ZoneInfo(report.timezone)
    week = report.week
    last = week.end.astimezone(tz) - dt.timedelta(days=1)
    current = last_complete_week(now, tz)
    later = shift(week, 1, tz)
    moderators = [r for r in report.people if r.exposure is not None]
    return {
        "week": week.label, "number": week.number, "year": week.year,
        "first": week.start.astimezone(tz).strftime("%d/%m/%Y"),
        "last": last.strftime("%d/%m/%Y"), "zone": report.timezone,
        "complete": now >= week.end, "started": now >= week.start,
        "earlier": shift(week, -1, tz).label,
        "later": later.label if later.start <= now else None,
        "latest": current.label if current.label != week.label else None,
        "town": report.town.to_json() | {"minutes": _rows([report.town])[0]["minutes"]},
        "teams": _rows(report.teams), "people": _rows(report.people),
        "moderators": _rows(moderators),
        "on_call_limit": report.on_call_limit, "exposure_limit": report.exposure_limit,
        "bars": bar_chart(report.people), "trend": line_chart(weeks, totals),
        "night_pages": [{
            "opened": _when(p.opened_at, tz), "team": team_name(policy, p.team) or p.team,
            "woken": ", ".join(f"{person_name(policy, who)} ({_when(at, tz)[-5:]})"
                               for who, at in p.woken),
            "acknowledged_by": (person_name(policy, p.acknowledged_by)
                                if p.acknowledged_by else None),
            "acknowledged_at": _when(p.acknowledged_at, tz),
            "minutes": (f"{p.minutes_to_acknowledge:g}"
                        if p.minutes_to_acknowledge is not None else "")}
            for p in report.night_pages],
        "storms": [{
            "target": _target(policy, s.target), "started": _when(s.started_at, tz),
            "authors": s.distinct_authors, "abusive": s.abusive_messages,
            "held": s.held_messages} for s in report.storms]}


def _target(policy: Policy, target: str) -> str:
    kind, _, ident = target.partition(":")
    if kind == "person":
        return person_name(policy, ident)
    if kind == "team":
        return team_name(policy, ident) or ident
    return target


def _week(request: web.Request, policy: Policy) -> tuple[Week, str]:
    """The week asked for, and the problem with `week` ("" when none: the last week that
    is over stands in for a bad one)."""
    tz = zone(policy.town.timezone)
    raw = request.query.get("week", "")
    if raw:
        try:
            return parse_week(raw, tz), ""
        except WeekError as exc:
            return last_complete_week(request.app[clock_key](), tz), str(exc)
    return last_complete_week(request.app[clock_key](), tz), ""


@routes.get("/report", name="ui_report")
@signed_in(Role.report)
async def report_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    week, error = _week(request, policy)
    tz = zone(policy.town.timezone)
    report, totals = await wellbeing_report(request.app[engine_key], policy, week,
                                            trend_weeks=TREND_WEEKS)
    weeks = [shift(week, n, tz) for n in range(1 - TREND_WEEKS, 1)]
    context = _context(report, weeks, totals, policy, request.app[clock_key]())
    return page(request, visitor, "report.html", {**context, "error": error},
                400 if error else 200)


@routes.get("/report.csv", name="ui_report_csv")
@signed_in(Role.report)
async def report_csv(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    week, error = _week(request, policy)
    if error:
        return problem_page(request, visitor, 400, f"`week`: {error}")
    report, _ = await wellbeing_report(request.app[engine_key], policy, week)
    return csv_response(report)
