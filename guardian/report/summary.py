"""The weekly summary of the wellbeing report: the town's figures of a closed week, short
enough for a phone, with the link to the full report. Pure (the engine's job,
`guardian.engine.report_summary`, queues it through the outbox)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from guardian.report.wellbeing import Week, WellbeingReport
from guardian.schedule.localtime import resolve

# Monday at this time on the town's clock, the week before is summed up (and sent once
# the recipient's quiet hours allow).
SUMMARY_TIME = dt.time(8, 0)


def due(week: Week, tz: ZoneInfo) -> dt.datetime:
    """When the summary of `week` is due: the Monday after it, at SUMMARY_TIME."""
    monday = week.monday + dt.timedelta(days=7)
    return resolve(dt.datetime.combine(monday, SUMMARY_TIME), tz)


def report_link(base_url: str, week: Week) -> str:
    return f"{base_url}/report?week={week.label}"


def summary_key(week: Week, person: str) -> str:
    """One summary per person and week, whichever process queues it, however often."""
    return f"report:{week.label}:{person}"


def summary_payload(report: WellbeingReport, base_url: str) -> dict[str, Any]:
    """The notification's payload (the `report` templates' context): counts and names
    of the people over the on-call limit, no message text."""
    town = report.town
    tz = ZoneInfo(report.timezone)
    last = report.week.end.astimezone(tz) - dt.timedelta(days=1)
    over = [p.name for p in report.people if p.over_on_call_limit]
    return {"week": report.week.label, "number": report.week.number,
            "from": report.week.start.astimezone(tz).strftime("%d/%m"),
            "until": last.strftime("%d/%m/%Y"),
            "kept": town.kept_from_quiet_hours, "contacted": town.contacted_in_quiet_hours,
            "night_pages": town.night_pages, "night_acked": town.night_pages_acknowledged,
            "shielded": town.shielded, "held": town.held, "storms": town.storms,
            "over_on_call": ", ".join(over), "exposure_full_days":
                town.days_at_exposure_limit or 0,
            "link": report_link(base_url, report.week)}
