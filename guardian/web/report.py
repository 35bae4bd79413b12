"""The wellbeing report in the API: one ISO week's figures (docs/report.md) as JSON, or as
CSV for a spreadsheet. HR and the report's readers (`report` tokens: the mayor's) may
read it; nothing else is open to a `report` token."""

from __future__ import annotations

from aiohttp import web

from guardian.errors import ApiError, FieldError
from guardian.policy.model import Policy
from guardian.report.wellbeing import (
    Week,
    WeekError,
    WellbeingReport,
    csv_text,
    last_complete_week,
    parse_week,
)
from guardian.schedule.localtime import zone
from guardian.storage.report import wellbeing_report
from guardian.types import Role
from guardian.web.access import requires
from guardian.web.keys import clock_key, engine_key
from guardian.web.overrides import policy_of

routes = web.RouteTableDef()


def requested_week(request: web.Request, policy: Policy) -> Week:
    """The `week` asked for (`2026-W49`), by default the last one that is over; a bad one
    is a 400 naming the parameter."""
    tz = zone(policy.town.timezone)
    raw = request.query.get("week", "")
    if not raw:
        return last_complete_week(request.app[clock_key](), tz)
    try:
        return parse_week(raw, tz)
    except WeekError as exc:
        raise ApiError(400, "invalid", f"`week`: {exc}", [FieldError("week", str(exc))]
                       ) from None


def report_json(report: WellbeingReport, request: web.Request) -> dict[str, object]:
    return {**report.to_json(),
            "complete": request.app[clock_key]() >= report.week.end}


def csv_response(report: WellbeingReport) -> web.Response:
    return web.Response(
        text=csv_text(report), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="wellbeing-{report.week.label}.csv"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@routes.get("/api/v1/report/wellbeing", name="report_wellbeing")
@requires(Role.hr, Role.report)
async def wellbeing(request: web.Request) -> web.Response:
    """The week's figures per person, per team and for the town, with the night pages
    and the storms."""
    policy = policy_of(request)
    week = requested_week(request, policy)
    report, _ = await wellbeing_report(request.app[engine_key], policy, week)
    return web.json_response(report_json(report, request),
                             headers={"Cache-Control": "no-store"})


@routes.get("/api/v1/report/wellbeing.csv", name="report_wellbeing_csv")
@requires(Role.hr, Role.report)
async def wellbeing_csv(request: web.Request) -> web.Response:
    """The same figures as CSV: the town, each team, each person, one line each."""
    policy = policy_of(request)
    week = requested_week(request, policy)
    report, _ = await wellbeing_report(request.app[engine_key], policy, week)
    return csv_response(report)


# --- the OpenAPI description (guardian.web.openapi) ----------------------------------------

_COUNT = {"type": "integer", "minimum": 0}
_MAYBE_COUNT = {"type": ["integer", "null"], "minimum": 0}
_MAYBE_NUMBER = {"type": ["number", "null"], "minimum": 0}
_INSTANT = {"type": "string", "format": "date-time"}
_ROW = {
    "type": "object",
    "required": ["scope", "id", "name", "kept_from_quiet_hours", "contacted_in_quiet_hours",
                 "night_pages", "night_pages_acknowledged", "minutes_to_acknowledge",
                 "shielded", "held", "storms", "on_call_hours", "on_call_weeks_in_row",
                 "over_on_call_limit", "exposure", "days_at_exposure_limit"],
    "properties": {
        "scope": {"enum": ["town", "team", "person"]}, "id": {"type": "string"},
        "name": {"type": "string"}, "kept_from_quiet_hours": _COUNT,
        "contacted_in_quiet_hours": _COUNT, "night_pages": _COUNT,
        "night_pages_acknowledged": _COUNT, "minutes_to_acknowledge": _MAYBE_NUMBER,
        "shielded": _COUNT, "held": _COUNT, "storms": _COUNT,
        "on_call_hours": _MAYBE_NUMBER, "on_call_weeks_in_row": _COUNT,
        "over_on_call_limit": _COUNT, "exposure": _MAYBE_COUNT,
        "days_at_exposure_limit": _MAYBE_COUNT,
        "teams": {"type": "array", "items": {"type": "string"}}}}
REPORT_SCHEMA: dict[str, object] = {
    "type": "object",
    "required": ["week", "start", "end", "timezone", "complete", "limits", "town", "teams",
                 "people", "night_pages", "storms"],
    "properties": {
        "week": {"type": "string", "pattern": r"^\d{4}-W\d{2}$"}, "start": _INSTANT,
        "end": _INSTANT, "timezone": {"type": "string"}, "complete": {"type": "boolean"},
        "limits": {"type": "object", "properties": {
            "on_call_weeks_in_row": _COUNT, "exposure_per_day": _COUNT}},
        "town": _ROW, "teams": {"type": "array", "items": _ROW},
        "people": {"type": "array", "items": _ROW},
        "night_pages": {"type": "array", "items": {
            "type": "object",
            "required": ["page_id", "team", "opened_at", "woken", "acknowledged_by",
                         "acknowledged_at", "minutes_to_acknowledge"],
            "properties": {
                "page_id": {"type": "integer"}, "team": {"type": "string"},
                "opened_at": _INSTANT,
                "woken": {"type": "array", "items": {"type": "object", "properties": {
                    "person": {"type": "string"}, "at": _INSTANT}}},
                "acknowledged_by": {"type": ["string", "null"]},
                "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
                "minutes_to_acknowledge": _MAYBE_NUMBER}}},
        "storms": {"type": "array", "items": {
            "type": "object",
            "required": ["target", "started_at", "distinct_authors", "abusive_messages",
                         "held_messages"],
            "properties": {
                "target": {"type": "string"}, "started_at": _INSTANT,
                "distinct_authors": _COUNT, "abusive_messages": _COUNT,
                "held_messages": _COUNT}}}}}
WEEK_QUERY = {"week": "An ISO week on the town's clock, e.g. 2026-W49 (default: the last "
                      "one that is over); another value is 400."}
