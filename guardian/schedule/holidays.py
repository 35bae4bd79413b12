"""Holidays as local days: on a holiday of their calendar a person is not working."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from guardian.policy.model import HolidayCalendar, Policy
from guardian.policy.public_holidays import names_language, package_days
from guardian.schedule.intervals import Interval, clip
from guardian.schedule.localtime import require_aware, to_local, zone
from guardian.schedule.windows import day_intervals


def holidays_of(policy: Policy, person_id: str) -> frozenset[dt.date]:
    """The days of the person's calendar (their own, else the town's), includes resolved."""
    calendar = policy.calendar_of(policy.people[person_id])
    return policy.holiday_dates.get(calendar, frozenset()) if calendar else frozenset()


Origin = Literal["local", "national", "regional"]


@dataclass(frozen=True, slots=True)
class HolidayDay:
    """One day of a calendar: its name, where it comes from (written in the policy, or
    the `holidays` package's national or regional days) and the calendar that holds it
    (the calendar itself, or one it includes)."""

    date: dt.date
    name: str
    origin: Origin
    calendar: str


def _searched(policy: Policy, calendar_id: str) -> Iterator[HolidayCalendar]:
    """The calendar, then those it includes, breadth first, each once."""
    seen: set[str] = set()
    pending = [calendar_id]
    while pending:
        calendar = policy.calendar_index.get(pending.pop(0))
        if calendar is None or calendar.id in seen:
            continue
        seen.add(calendar.id)
        yield calendar
        pending.extend(calendar.include)


def _days(policy: Policy, calendar: HolidayCalendar, first: dt.date, last: dt.date
          ) -> Iterator[HolidayDay]:
    """The calendar's own days in [first, last]: those written in it, then the package's."""
    for holiday in calendar.days:
        if first <= holiday.date <= last:
            yield HolidayDay(holiday.date, holiday.name, "local", calendar.id)
    package = policy.package_holidays(calendar)
    if package and calendar.country is not None:
        national = (package_days(calendar.country, None,
                                 names_language(calendar.country, policy.town.languages))
                    if calendar.subdivision is not None else package)
        # One day (the schedule asks day by day): a look-up, not a walk through 20 years.
        items: Iterable[tuple[dt.date, str]] = package.items()
        if first == last:
            items = [(first, package[first])] if first in package else []
        for day, name in items:
            if first <= day <= last:
                yield HolidayDay(day, name, "national" if day in national else "regional",
                                 calendar.id)


def holiday_name(policy: Policy, calendar_id: str, day: dt.date) -> str | None:
    """The holiday's name in that calendar or one it includes (a day written in the policy
    before the package's name for it); None on ordinary days."""
    for calendar in _searched(policy, calendar_id):
        for found in _days(policy, calendar, day, day):
            return found.name
    return None


def calendar_days(policy: Policy, calendar_id: str, first: dt.date, last: dt.date
                  ) -> list[HolidayDay]:
    """The calendar's holidays in [first, last] by date, each once, named and sourced as
    `holiday_name` finds it."""
    found: dict[dt.date, HolidayDay] = {}
    for calendar in _searched(policy, calendar_id):
        for holiday in _days(policy, calendar, first, last):
            found.setdefault(holiday.date, holiday)
    return [found[d] for d in sorted(found)]


def followers(policy: Policy, calendar_id: str) -> tuple[list[str], list[str]]:
    """Who follows the calendar: those who have it as their own `holidays`, and those who
    follow it as the town's (no calendar of their own), each in the policy's order."""
    own = [p.id for p in policy.staff if p.holidays == calendar_id]
    by_default = ([p.id for p in policy.staff if p.holidays is None]
                  if policy.town.holidays == calendar_id else [])
    return own, by_default


def own_calendar_holidays(policy: Policy, person_ids: Iterable[str], day: dt.date
                          ) -> list[tuple[str, str]]:
    """Who of `person_ids` follows a calendar other than the town's and has `day` off by
    it, with the holiday's name."""
    found = []
    for person_id in dict.fromkeys(person_ids):
        person = policy.people.get(person_id)
        calendar = policy.calendar_of(person) if person is not None else None
        if calendar is None or calendar == policy.town.holidays:
            continue
        if day in policy.holiday_dates.get(calendar, frozenset()):
            found.append((person_id, holiday_name(policy, calendar, day) or ""))
    return found


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
