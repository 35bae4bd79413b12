"""Weekly windows (working hours, quiet hours, rotation restrictions) as instants.

A window belongs to the local day it starts on and runs in wall-clock time: 22:00-07:00
on a night when clocks spring forward lasts 8 real hours. Both ends go through
`localtime.resolve`, so a window wholly inside a skipped hour is empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from guardian.policy.model import TimeWindow, WeekSchedule
from guardian.schedule.intervals import Interval, clip, merge
from guardian.schedule.localtime import require_aware, resolve, to_local

_DAY = dt.timedelta(days=1)


def _occurrence(day: dt.date, window: TimeWindow, tz: ZoneInfo) -> Interval:
    start = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=window.start)
    return resolve(start, tz), resolve(start + dt.timedelta(minutes=window.minutes), tz)


def _occurrences(week: WeekSchedule, tz: ZoneInfo, first: dt.date, last: dt.date
                 ) -> Iterator[Interval]:
    day = first
    while day <= last:
        for window in week.days[day.weekday()]:
            yield _occurrence(day, window, tz)
        day += _DAY


def window_intervals(week: WeekSchedule, tz: ZoneInfo, start: dt.datetime,
                     end: dt.datetime) -> list[Interval]:
    """The windows' occurrences within [start, end), merged and clipped."""
    require_aware(start, "start")
    require_aware(end, "end")
    # Windows last at most a day, so one day before covers those still open at `start`.
    first = to_local(start, tz).date() - _DAY
    last = to_local(end, tz).date()
    return clip(merge(_occurrences(week, tz, first, last)), start, end)


def in_windows(week: WeekSchedule, tz: ZoneInfo, at: dt.datetime) -> bool:
    """Whether `at` falls inside one of the windows (start-inclusive, end-exclusive)."""
    require_aware(at, "at")
    today = to_local(at, tz).date()
    for day in (today, today - _DAY):
        for window in week.days[day.weekday()]:
            start, end = _occurrence(day, window, tz)
            if start <= at < end:
                return True
    return False


def day_intervals(days: Iterable[dt.date], tz: ZoneInfo) -> list[Interval]:
    """Whole local days, from local midnight to the next."""
    midnight = dt.time()
    return merge((resolve(dt.datetime.combine(d, midnight), tz),
                  resolve(dt.datetime.combine(d + _DAY, midnight), tz)) for d in days)
