"""HR's policy what-if page (`/hr/what-if`): upload changed policy files, choose the days,
and see, side by side, what the last days of real traffic would have done under the policy
in force and under the changed one. The checks, the replay and its bound are the API's
(guardian.web.whatif); this module only reads the form and shows the answer, with names
and the town's clock. Message texts appear only masked, as staff read them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from guardian.decide.whatif import Touch
from guardian.engine.whatif import DEFAULT_DAYS, MAX_DAYS, Report
from guardian.policy.model import Policy
from guardian.policy.names import category_name, person_name, team_name
from guardian.policy_files.loader import Problem
from guardian.policy_files.overlay import MAX_FILE_BYTES, MAX_FILES, UPLOAD, check_uploads
from guardian.types import Role
from guardian.web.ui.sessions import Visitor, page, signed_in
from guardian.web.whatif import (
    MAX_MESSAGES,
    PERSON_METRICS,
    Busy,
    parse_days,
    policy_of_app,
    uploaded,
    what_if,
)

routes = web.RouteTableDef()


def _when(at: dt.datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def _problems(found: Sequence[Problem]) -> list[dict[str, Any]]:
    return [{"file": "" if p.file == UPLOAD else p.file, "line": p.line, "message": p.message}
            for p in found]


def _touches(touches: Sequence[Touch], policy: Policy, zone: ZoneInfo) -> list[dict[str, str]]:
    return [{"who": person_name(policy, t.person), "at": _when(t.at, zone), "kind": t.kind}
            for t in touches]


def _shown(result: Report, old: Policy, new: Policy, lang: str) -> dict[str, Any]:
    """The report as the page shows it: names, the town's clock, masked texts only."""
    zone = ZoneInfo(old.town.timezone)
    diff = result.diff

    def name(person: str) -> str:
        return person_name(new if person in new.people else old, person)

    people = sorted(diff.people, key=lambda p: (not p.changed, name(p.person)))
    messages = []
    for change in diff.messages:
        stored = result.traffic.messages.get(change.message)
        route_old, route_new = change.old_route, change.new_route
        category = (route_old.category if route_old else route_new.category if route_new
                    else stored.category if stored else None)
        messages.append({
            "id": stored.id if stored else change.message,
            "received": _when(stored.received_at, zone) if stored else "",
            "category": category_name(old, category, lang),
            "text": stored.text if stored else None,
            "old": _touches(change.old, old, zone), "new": _touches(change.new, new, zone),
            "old_team": team_name(old, route_old.team) if route_old else "",
            "new_team": team_name(new, route_new.team) if route_new else "",
            "old_unrouted": bool(route_old and route_old.unrouted),
            "new_unrouted": bool(route_new and route_new.unrouted)})
    traffic = result.traffic
    return {
        "start": _when(result.start, zone), "end": _when(result.end, zone),
        "zone": str(zone), "same": result.same, "changed": diff.changed,
        "replayed": len(traffic.messages), "acks": traffic.acks,
        "overrides": len(traffic.overrides), "redacted": traffic.redacted,
        "unreadable": traffic.unreadable, "beyond": traffic.beyond_limit,
        "totals": [{"metric": m, "old": p.old, "new": p.new, "changed": p.changed}
                   for m, p in diff.totals],
        "people": [{"name": name(p.person), "changed": p.changed,
                    "pairs": [(m, getattr(p, m)) for m in PERSON_METRICS]} for p in people],
        "messages": messages}


def _page(request: web.Request, visitor: Visitor, *, status: int = 200,
          **context: Any) -> web.Response:
    return page(request, visitor, "hr_what_if.html", {
        "days": DEFAULT_DAYS, "max_days": MAX_DAYS, "max_messages": MAX_MESSAGES,
        "max_files": MAX_FILES, "max_kib": MAX_FILE_BYTES // 1024, "problems": [],
        "warnings": [], "result": None, "error": "", "replaced": [], "added": [],
        **context}, status)


@routes.get("/hr/what-if", name="ui_hr_what_if")
@signed_in(Role.hr)
async def what_if_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy_of_app(request.app)
    return _page(request, visitor)


@routes.post("/hr/what-if", name="ui_hr_what_if_run")
@signed_in(Role.hr)
async def what_if_run(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    old = policy_of_app(request.app)
    form = await request.post()
    days = parse_days(form.get("days", ""))
    if days is None:
        return _page(request, visitor, status=422, error="days", days=DEFAULT_DAYS)
    uploads = check_uploads(uploaded(form.getall("files", [])))
    if uploads.problems:
        return _page(request, visitor, status=uploads.status, days=days,
                     problems=_problems(uploads.problems))
    try:
        outcome = await what_if(request.app, uploads.texts, days)
    except Busy:
        return _page(request, visitor, status=429, error="busy", days=days)
    changed = outcome.changed
    files: dict[str, Any] = {"replaced": changed.replaced, "added": changed.added,
             "warnings": _problems(changed.warnings)}
    if outcome.report is None or changed.policy is None:
        return _page(request, visitor, status=422, days=days,
                     problems=_problems(changed.errors), **files)
    return _page(request, visitor, days=days, **files,
                 result=_shown(outcome.report, old, changed.policy, visitor.lang))
