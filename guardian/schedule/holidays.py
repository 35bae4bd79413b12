"""Holidays as local days: on a holiday of their calendar a person is not working."""

from __future__ import annotations

import datetime as dt

from guardian.policy.model import Policy
from guardian.schedule.intervals import Interval, clip
from guardian.schedule.localtime import require_aware, to_local, zone
from guardian.schedule.windows import day_intervals


def holidays_of(policy: Policy, person_id: str) -> frozenset[dt.date]:
    """The days of the person's calendar (their own, else the town's), includes resolved."""
    calendar = policy.calendar_of(policy.people[person_id])
    return policy.holiday_dates.get(calendar, frozenset()) if calendar else frozenset()


def holiday_name(policy: Policy, calendar_id: str, day: dt.date) -> str | None:
    """The holiday's name in that calendar or one it includes; None on ordinary days."""
    seen: set[str] = set()
    pending = [calendar_id]
    while pending:
        calendar = policy.calendar_index.get(pending.pop(0))
        if calendar is None or calendar.id in seen:
            continue
        seen.add(calendar.id)
        for holiday in calendar.days:
            if holiday.date == day:
                return holiday.name
        pending.extend(calendar.include)
    return None


def is_holiday(policy: Policy, person_id: str, at: dt.datetime) -> bool:
    """Whether `at` falls on a holiday of the person's calendar, in the person's zone."""
    require_aware(at, "at")
    person = policy.people[person_id]
    return to_local(at, zone(person.timezone)).date() in holidays_of(policy, person_id)


def holiday_intervals(policy: Policy, person_id: str, start: dt.datetime, end: dt.datetime
                      ) -> list[Interval]:
    tz = zone(policy.people[person_id].timezone)
    first, last = to_local(start, tz).date(), to_local(end, tz).date()
    days = [d for d in holidays_of(policy, person_id) if first <= d <= last]
    return clip(day_intervals(days, tz), start, end)
