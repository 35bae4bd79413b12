"""Policy checks that need the schedule: periods where a team has no one, and working
hours that overlap quiet hours. The loader turns these into warnings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from guardian.policy.model import DAYS, MINUTES_PER_DAY, Policy, StaffMember, WeekSchedule
from guardian.schedule.duty import Shift, team_shifts
from guardian.schedule.intervals import Interval, intersect, merge
from guardian.schedule.overrides import Override

_WEEK = 7 * MINUTES_PER_DAY


@dataclass(frozen=True, slots=True)
class TeamGaps:
    team: str
    gaps: tuple[Interval, ...]  # no one on duty and no one on call
    covered_always: bool        # True: the team has a rotation, so 24/7 is expected

    @property
    def hours(self) -> float:
        return sum((e - s).total_seconds() for s, e in self.gaps) / 3600


def team_gaps(policy: Policy, start: dt.datetime, end: dt.datetime,
              overrides: Sequence[Override] = ()) -> list[TeamGaps]:
    """For teams with a `duty` or `on_call` rotation: the periods with no one on duty or
    on call. Teams without one keep office hours by design (their messages wait for the
    next working period); for them only "no one works at all in the window" is a gap."""
    result: list[TeamGaps] = []
    for team in policy.teams:
        if team.duty is None and team.on_call is None:
            shifts = team_shifts(policy, team.id, start, end, overrides=overrides)
            if all(s.gap for s in shifts):
                result.append(TeamGaps(team.id, ((start, end),), False))
            continue
        duty = team_shifts(policy, team.id, start, end, role="duty", overrides=overrides)
        call = team_shifts(policy, team.id, start, end, role="on_call", overrides=overrides)
        empty = _intersect_gaps(duty, call)
        if empty:
            result.append(TeamGaps(team.id, tuple(empty), True))
    return result


def _intersect_gaps(a: Sequence[Shift], b: Sequence[Shift]) -> list[Interval]:
    return intersect(merge((s.start, s.end) for s in a if s.gap),
                     merge((s.start, s.end) for s in b if s.gap))


def _week_minutes(week: WeekSchedule) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for day, windows in enumerate(week.days):
        for window in windows:
            start = day * MINUTES_PER_DAY + window.start
            end = start + window.minutes
            # Sunday night wraps into Monday morning.
            spans += [(start, min(end, _WEEK))] + ([(0, end - _WEEK)] if end > _WEEK else [])
    return spans


def quiet_overlaps(person: StaffMember) -> list[tuple[int, int]]:
    """Minutes of the week (Monday 00:00 = 0) inside both working and quiet hours, in the
    weekly pattern (DST aside). Quiet hours win there; HR should know."""
    quiet = _week_minutes(person.quiet_hours)
    pieces = sorted((max(ws, qs), min(we, qe)) for ws, we in _week_minutes(person.working_hours)
                    for qs, qe in quiet if max(ws, qs) < min(we, qe))
    joined: list[tuple[int, int]] = []
    for s, e in pieces:
        if joined and s <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(e, joined[-1][1]))
        else:
            joined.append((s, e))
    return joined


def format_week_minutes(start: int, end: int) -> str:
    def at(minute: int) -> str:
        day, rest = divmod(minute % _WEEK, MINUTES_PER_DAY)
        return f"{DAYS[day].capitalize()} {rest // 60:02d}:{rest % 60:02d}"
    return f"{at(start)}-{at(end)}"
