"""A precomputed timeline: every team's shifts and every person's working and quiet
periods over [start, end), searched with `bisect`. Build it once per policy (and again
when the policy or the overrides change); look-ups then cost a bisection each.

Its answers equal those of `duty`, `people` at any instant in range (a property test
holds them to it); outside the range it raises rather than guess.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from guardian.policy.model import Policy
from guardian.schedule.duty import ROLES, Shift, team_shifts
from guardian.schedule.localtime import NaiveDatetimeError, require_aware
from guardian.schedule.overrides import Override, Role
from guardian.schedule.people import quiet_intervals, working_intervals

_DAY = dt.timedelta(days=1)


class OutOfRangeError(ValueError):
    """A look-up outside the instants the timeline was built for."""


@dataclass(frozen=True, slots=True)
class _Track:
    starts: list[float]  # POSIX seconds of each shift's start
    shifts: list[Shift]
    people: list[frozenset[str]]


@dataclass(frozen=True, slots=True)
class _Periods:
    bounds: list[float]  # start0, end0, start1, end1, ...: inside iff bisect is odd
    start_seconds: list[float]
    starts: list[dt.datetime]


def _periods(intervals: Sequence[tuple[dt.datetime, dt.datetime]]) -> _Periods:
    bounds = [t.timestamp() for interval in intervals for t in interval]
    return _Periods(bounds, bounds[0::2], [s for s, _ in intervals])


class Timeline:
    def __init__(self, start: dt.datetime, end: dt.datetime, tracks: dict[tuple[str, Role],
                 _Track], working: dict[str, _Periods], quiet: dict[str, _Periods]) -> None:
        self.start, self.end = start, end
        self._low, self._high = start.timestamp(), end.timestamp()
        self._tracks, self._working, self._quiet = tracks, working, quiet

    @classmethod
    def build(cls, policy: Policy, start: dt.datetime, end: dt.datetime, *,
              overrides: Sequence[Override] = ()) -> Timeline:
        require_aware(start, "start")
        require_aware(end, "end")
        if start >= end:
            raise ValueError("a timeline needs start before end")
        tracks: dict[tuple[str, Role], _Track] = {}
        for team in policy.teams:
            for role in ROLES:
                shifts = team_shifts(policy, team.id, start, end, role=role,
                                     overrides=overrides)
                tracks[team.id, role] = _Track([s.start.timestamp() for s in shifts], shifts,
                                               [s.people for s in shifts])
        # A day's margin each side, so a period under way at `start` is not mistaken for
        # one beginning there, and one beginning just before `end` is whole.
        working = {p.id: _periods(working_intervals(policy, p.id, start - _DAY, end + _DAY))
                   for p in policy.staff}
        quiet = {p.id: _periods(quiet_intervals(policy, p.id, start - _DAY, end + _DAY))
                 for p in policy.staff}
        return cls(start, end, tracks, working, quiet)

    def _seconds(self, at: dt.datetime) -> float:
        if at.tzinfo is None:
            raise NaiveDatetimeError(f"{at.isoformat()} has no time zone; pass an aware "
                                     "datetime")
        seconds = at.timestamp()
        if not self._low <= seconds < self._high:
            raise OutOfRangeError(f"{at.isoformat()} is outside this timeline "
                                  f"[{self.start.isoformat()}, {self.end.isoformat()})")
        return seconds

    def _track(self, team: str, role: Role) -> _Track:
        try:
            return self._tracks[team, role]
        except KeyError:
            raise KeyError(f"no team `{team}` in this timeline") from None

    def shift_at(self, team: str, at: dt.datetime, role: Role = "duty") -> Shift:
        """The shift under way (with its sources; a gap has no people)."""
        track = self._track(team, role)
        return track.shifts[bisect_right(track.starts, self._seconds(at)) - 1]

    def on_duty(self, team: str, at: dt.datetime) -> frozenset[str]:
        track = self._track(team, "duty")
        return track.people[bisect_right(track.starts, self._seconds(at)) - 1]

    def on_call(self, team: str, at: dt.datetime) -> frozenset[str]:
        track = self._track(team, "on_call")
        return track.people[bisect_right(track.starts, self._seconds(at)) - 1]

    def shifts(self, team: str, start: dt.datetime, end: dt.datetime, role: Role = "duty"
               ) -> list[Shift]:
        """The shifts overlapping [start, end), not cut (the first may begin earlier)."""
        track = self._track(team, role)
        first = bisect_right(track.starts, self._seconds(start)) - 1
        last = bisect_left(track.starts, require_aware(end, "end").timestamp())
        return track.shifts[first:last]

    def _person(self, table: dict[str, _Periods], person: str) -> _Periods:
        try:
            return table[person]
        except KeyError:
            raise KeyError(f"no staff member `{person}` in this timeline") from None

    def is_working(self, person: str, at: dt.datetime) -> bool:
        return bisect_right(self._person(self._working, person).bounds,
                            self._seconds(at)) % 2 == 1

    def in_quiet_hours(self, person: str, at: dt.datetime) -> bool:
        return bisect_right(self._person(self._quiet, person).bounds,
                            self._seconds(at)) % 2 == 1

    def next_working_start(self, person: str, after: dt.datetime) -> dt.datetime | None:
        """As `people.next_working_start`; None if none begins before the timeline's end
        (plus a day)."""
        periods = self._person(self._working, person)
        i = bisect_left(periods.start_seconds, self._seconds(after))
        return periods.starts[i] if i < len(periods.starts) else None
