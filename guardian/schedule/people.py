"""A person's own time: working hours, quiet hours and holidays, in the person's zone.

Precedence: quiet hours win over working hours (a policy where they overlap gets a
warning from the loader), and a holiday cancels working hours for the whole local day
(an overnight shift that starts the evening before stops at midnight). Quiet hours apply
on holidays too.
"""

from __future__ import annotations

import datetime as dt

from guardian.policy.model import Policy
from guardian.schedule.holidays import holiday_intervals, is_holiday
from guardian.schedule.intervals import Interval, merge, subtract
from guardian.schedule.localtime import require_aware, zone
from guardian.schedule.windows import in_windows, window_intervals

# A working period may begin up to a day before the instant it is asked about.
_LOOKBACK = dt.timedelta(days=2)
_SEARCH_STEPS = (dt.timedelta(days=8), dt.timedelta(days=62), dt.timedelta(days=400))


def in_quiet_hours(policy: Policy, person_id: str, at: dt.datetime) -> bool:
    person = policy.people[person_id]
    return in_windows(person.quiet_hours, zone(person.timezone), at)


def is_working(policy: Policy, person_id: str, at: dt.datetime) -> bool:
    """Inside working hours, not on a holiday, not in quiet hours."""
    person = policy.people[person_id]
    tz = zone(person.timezone)
    return (in_windows(person.working_hours, tz, at)
            and not in_windows(person.quiet_hours, tz, at)
            and not is_holiday(policy, person_id, at))


def quiet_intervals(policy: Policy, person_id: str, start: dt.datetime, end: dt.datetime
                    ) -> list[Interval]:
    person = policy.people[person_id]
    return window_intervals(person.quiet_hours, zone(person.timezone), start, end)


def working_intervals(policy: Policy, person_id: str, start: dt.datetime, end: dt.datetime
                      ) -> list[Interval]:
    """Working periods within [start, end) (clipped at both ends), merged."""
    person = policy.people[person_id]
    tz = zone(person.timezone)
    working = window_intervals(person.working_hours, tz, start, end)
    off = merge([*holiday_intervals(policy, person_id, start, end),
                 *quiet_intervals(policy, person_id, start, end)])
    return subtract(working, off)


def next_working_start(policy: Policy, person_id: str, after: dt.datetime,
                       *, within: dt.timedelta = _SEARCH_STEPS[-1]) -> dt.datetime | None:
    """The first instant at or after `after` where a working period begins (the person is
    working from it and was not just before it); never inside quiet hours. None when there
    is none within `within` (e.g. no working hours at all).

    If `after` is itself inside a working period, that one has begun already: the answer is
    the start of the next one.
    """
    require_aware(after, "after")
    for step in (*(s for s in _SEARCH_STEPS if s < within), within):
        for start, _ in working_intervals(policy, person_id, after - _LOOKBACK, after + step):
            # The first interval may be cut at the look-back edge: it then starts before
            # `after` and is skipped, as are periods already under way.
            if start >= after:
                return start
    return None
