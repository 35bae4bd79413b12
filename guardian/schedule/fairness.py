"""Consecutive on-call weeks: who a rotation (with its overrides) keeps on call week after
week, beyond the policy's `on_call_limits.max_consecutive_weeks`. Pure.

A person is "on call in a week" (Monday 00:00 to Monday 00:00, the town's wall clock) when
they are on call, in any team, for more than half of it (over 84 hours): a weekly on-call
week counts; two people alternating daily 24-hour shifts have about 84 hours each (88 and
80 in turn), never two such weeks running; a weekend layer does not count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from guardian.policy.model import Policy
from guardian.schedule.duty import team_shifts
from guardian.schedule.intervals import merge
from guardian.schedule.localtime import zone
from guardian.schedule.overrides import Override

WEEK = dt.timedelta(days=7)
ON_CALL_WEEK = dt.timedelta(hours=84)  # more than this in a week: an on-call week


@dataclass(frozen=True, slots=True)
class LongRun:
    """`person` is on call `weeks` weeks in a row, from the week starting `start`."""

    person: str
    start: dt.datetime
    weeks: int

    def sentence(self, policy: Policy, limit: int) -> str:
        local = self.start.astimezone(zone(policy.town.timezone))
        return (f"{self.person} is on call {self.weeks} weeks in a row from the week of "
                f"{local:%Y-%m-%d} (the policy's limit is {limit}: "
                "`on_call_limits.max_consecutive_weeks`)")


def _monday(at: dt.datetime, policy: Policy) -> dt.datetime:
    local = at.astimezone(zone(policy.town.timezone))
    day = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime(day.year, day.month, day.day,
                       tzinfo=zone(policy.town.timezone)).astimezone(dt.UTC)


def on_call_hours(policy: Policy, start: dt.datetime, weeks: int,
                  overrides: Sequence[Override] = ()) -> dict[str, list[dt.timedelta]]:
    """Per person, their on-call time in each of `weeks` weeks from the Monday of `start`."""
    first = _monday(start, policy)
    # Weeks by local Monday: a week across a clock change is 167 or 169 hours long.
    bounds = [_monday(first + WEEK * n + dt.timedelta(days=1), policy)
              for n in range(weeks + 1)]
    # One person may be on call for several teams at once (a town-wide rotation): their
    # periods are merged first, so an hour counts once.
    periods: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for team in policy.teams:
        if team.on_call is None:
            continue
        for shift in team_shifts(policy, team.id, bounds[0], bounds[-1], role="on_call",
                                 overrides=overrides):
            for person in shift.people:
                periods[person].append((shift.start, shift.end))
    hours: dict[str, list[dt.timedelta]] = {}
    for person, spans in periods.items():
        row = [dt.timedelta()] * weeks
        for start_at, end_at in merge(spans):
            for n in range(weeks):
                low, high = max(start_at, bounds[n]), min(end_at, bounds[n + 1])
                if high > low:
                    row[n] += high - low
        hours[person] = row
    return dict(hours)


def long_runs(policy: Policy, start: dt.datetime, weeks: int, limit: int,
              overrides: Sequence[Override] = ()) -> list[LongRun]:
    """Every run of more than `limit` on-call weeks in a row within the `weeks` weeks from
    the Monday of `start`, person by person."""
    return runs_over(policy, start, on_call_hours(policy, start, weeks, overrides), limit)


def runs_over(policy: Policy, start: dt.datetime, hours: Mapping[str, Sequence[dt.timedelta]],
              limit: int) -> list[LongRun]:
    """`long_runs` from `on_call_hours` already counted (for a page that shows both)."""
    first = _monday(start, policy)
    found = []
    for person, row in sorted(hours.items()):
        run_start, length = None, 0
        for n, spent in enumerate([*row, dt.timedelta()]):
            if spent > ON_CALL_WEEK:
                run_start = n if length == 0 else run_start
                length += 1
                continue
            if length > limit and run_start is not None:
                found.append(LongRun(person, _monday(first + WEEK * run_start
                                                     + dt.timedelta(days=1), policy), length))
            length = 0
    return found


def longest_run(row: Sequence[dt.timedelta]) -> int:
    """The most on-call weeks in a row in one person's weeks."""
    best = length = 0
    for spent in row:
        length = length + 1 if spent > ON_CALL_WEEK else 0
        best = max(best, length)
    return best
