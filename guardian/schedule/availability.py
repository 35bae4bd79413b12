"""Who can be reached when: the schedule look-ups the engine needs, through a prebuilt
`Timeline` when the instant is in its range and the pure schedule functions otherwise
(same answers; the timeline is only faster).

Definitions the engine and its invariants share:

- a person is *on duty* at t when not in quiet hours and either working (working hours,
  not a holiday) or in the on-duty set of a team (a `duty` rotation, overrides);
- a person is *on call* at t when in the on-call set of a team;
- a person *comes on duty* at t when on duty at t and not just before: a working period
  begins, a duty shift that has them begins, or their quiet hours end inside such a
  shift. Their *next start* after t is the first such instant (within `SEARCH_AHEAD`):
  their digest is delivered then, never in quiet hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from guardian.policy.model import Policy
from guardian.schedule import people
from guardian.schedule.duty import Shift, Source, duty_at, team_shifts
from guardian.schedule.overrides import Override, Role
from guardian.schedule.timeline import Timeline

# How far ahead a next start is looked for beyond the timeline (and at most).
SEARCH_AHEAD = dt.timedelta(days=31)
_STEP = dt.timedelta(seconds=1)
_DAY = dt.timedelta(days=1)
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
_QUIET_CACHE_SIZE = 20_000
QuietCache = dict[tuple[str, int], list[tuple[dt.datetime, dt.datetime]]]


def rotation_duty(policy: Policy, role: Role) -> dict[str, tuple[str, ...]]:
    """Per person, the teams whose `duty` (or `on_call`) rotation has them: the only teams
    whose set can hold them besides working hours and overrides (computed once per policy
    by the router)."""
    index: dict[str, list[str]] = {}
    for team in policy.teams:
        rotation_id = team.duty if role == "duty" else team.on_call
        if rotation_id is not None:
            for layer in policy.rotation_index[rotation_id].layers:
                for member in layer.members:
                    teams = index.setdefault(member, [])
                    if team.id not in teams:
                        teams.append(team.id)
    return {person: tuple(teams) for person, teams in index.items()}


class Availability:
    def __init__(self, policy: Policy, timeline: Timeline | None,
                 overrides: Sequence[Override] = (),
                 duty_index: dict[str, tuple[str, ...]] | None = None,
                 call_index: dict[str, tuple[str, ...]] | None = None,
                 quiet_cache: QuietCache | None = None) -> None:
        self.policy = policy
        # Quiet periods by (person, UTC day): shared by the decisions of one policy.
        self._quiet_cache: QuietCache = quiet_cache if quiet_cache is not None else {}
        self.timeline = timeline
        self.overrides = tuple(overrides)
        # Outside the timeline's range, look-ups fall back to the pure functions.
        self._low, self._high = ((timeline.start, timeline.end) if timeline is not None
                                 else (_NEVER, _NEVER))
        self._rotation_duty = self._with_overrides(
            duty_index if duty_index is not None else rotation_duty(policy, "duty"), "duty")
        self._rotation_call = self._with_overrides(
            call_index if call_index is not None else rotation_duty(policy, "on_call"),
            "on_call")

    def _with_overrides(self, index: dict[str, tuple[str, ...]], role: Role
                        ) -> dict[str, tuple[str, ...]]:
        """An override may add anyone to a team's set: look there too."""
        if not self.overrides:
            return index
        extended = {person: list(teams) for person, teams in index.items()}
        for override in self.overrides:
            named = [override.team] if override.team is not None else [
                t.id for t in self.policy.teams]
            teams = extended.setdefault(override.person, [])
            teams += [t for t in named if t in self.policy.team_index and t not in teams
                      and override.concerns(t, role)]
        return {person: tuple(teams) for person, teams in extended.items()}

    def _in_range(self, at: dt.datetime) -> bool:
        return self._low <= at < self._high

    # --- teams -----------------------------------------------------------------------

    def team(self, team: str, at: dt.datetime, role: Role = "duty") -> frozenset[str]:
        if self._low <= at < self._high:
            assert self.timeline is not None
            return (self.timeline.on_duty(team, at) if role == "duty"
                    else self.timeline.on_call(team, at))
        return duty_at(self.policy, team, role, at, self.overrides).people

    def sources(self, team: str, at: dt.datetime, role: Role = "duty") -> tuple[Source, ...]:
        if self._in_range(at):
            assert self.timeline is not None
            return self.timeline.shift_at(team, at, role).sources
        return duty_at(self.policy, team, role, at, self.overrides).sources

    def _shifts(self, team: str, start: dt.datetime) -> Iterator[Shift]:
        """Duty shifts from `start` on: the timeline's, then (only if the caller gets that
        far) computed ones beyond it, up to `SEARCH_AHEAD`."""
        tail_from = start
        if self._in_range(start):
            assert self.timeline is not None
            yield from self.timeline.shifts(team, start, self._high)
            tail_from = self._high
        end = start + SEARCH_AHEAD
        if tail_from < end:
            yield from team_shifts(self.policy, team, tail_from, end,
                                   overrides=self.overrides)

    def _arrivals(self, shift: Shift, after: dt.datetime, members: Iterable[str]
                  ) -> Iterator[tuple[dt.datetime, str]]:
        """When each of `members` comes on duty within `shift`, after `after`: at its
        start, or, if quiet hours hold them back then, when those end (if still within
        the shift). Someone already on duty before does not "come on"."""
        begin = max(shift.start, after + _STEP)
        for person in members:
            at = begin
            if self.quiet(person, at):
                end = self.quiet_end(person, at)
                if end is None or end >= shift.end:
                    continue
                at = end
            if self.is_start(person, at):
                yield at, person

    def team_next(self, team: str, after: dt.datetime
                  ) -> tuple[dt.datetime, frozenset[str]] | None:
        """The first instant after `after` at which someone comes on duty for the team
        (a start, as `is_start` says), and who (everyone who comes on then)."""
        best: dt.datetime | None = None
        who: set[str] = set()
        for shift in self._shifts(team, after):
            if best is not None and shift.start >= best:
                break
            for at, person in self._arrivals(shift, after, shift.people):
                if best is None or at < best:
                    best, who = at, {person}
                elif at == best:
                    who.add(person)
        return (best, frozenset(who)) if best is not None else None

    # --- people ----------------------------------------------------------------------

    def quiet(self, person: str, at: dt.datetime) -> bool:
        if self._low <= at < self._high:
            assert self.timeline is not None
            return self.timeline.in_quiet_hours(person, at)
        return people.in_quiet_hours(self.policy, person, at)

    def quiet_end(self, person: str, at: dt.datetime) -> dt.datetime | None:
        """When the quiet period holding the person at `at` ends; None if not in one, or
        if it lasts more than two days from `at`."""
        day = int(at.timestamp() // 86400)
        periods = self._quiet_cache.get((person, day))
        if periods is None:
            if len(self._quiet_cache) >= _QUIET_CACHE_SIZE:
                self._quiet_cache.clear()
            start = dt.datetime.fromtimestamp(day * 86400, dt.UTC)
            periods = people.quiet_intervals(self.policy, person, start - _DAY,
                                             start + 3 * _DAY)
            self._quiet_cache[person, day] = periods
        for begin, end in periods:
            if begin <= at < end:
                return end if end < at + 2 * _DAY else None
        return None

    def working(self, person: str, at: dt.datetime) -> bool:
        if self._low <= at < self._high:
            assert self.timeline is not None
            return self.timeline.is_working(person, at)
        return people.is_working(self.policy, person, at)

    def on_duty(self, person: str, at: dt.datetime) -> bool:
        if self.quiet(person, at):
            return False
        if self.working(person, at):
            return True
        return any(person in self.team(t, at) for t in self._rotation_duty.get(person, ()))

    def on_call(self, person: str, at: dt.datetime) -> bool:
        return any(person in self.team(t, at, "on_call")
                   for t in self._rotation_call.get(person, ()))

    def on_leave(self, person: str, at: dt.datetime) -> Override | None:
        """The override that takes `person` off everything at `at` (sick leave, holidays:
        a `remove` of every team, duty and on-call), or None. No chain wakes them."""
        for override in self.overrides:
            if (override.kind == "remove" and override.person == person
                    and override.team is None and override.applies_to == "both"
                    and override.active(at)):
                return override
        return None

    def is_start(self, person: str, at: dt.datetime) -> bool:
        """On duty at `at` and not just before: a digest may be delivered then."""
        return self.on_duty(person, at) and not self.on_duty(person, at - _STEP)

    def next_start(self, person: str, after: dt.datetime) -> dt.datetime | None:
        """The earliest instant after `after` at which a working period of the person
        begins, or a duty shift that has them begins, and they come on duty then (not in
        quiet hours, not on duty already); None within `SEARCH_AHEAD`."""
        found: list[dt.datetime] = []
        limit = after + SEARCH_AHEAD
        if self.policy.people[person].working_hours:
            start: dt.datetime | None = after
            while start is not None and start + _STEP < limit:
                cursor = start + _STEP
                start = None
                if self._in_range(cursor):
                    assert self.timeline is not None
                    start = self.timeline.next_working_start(person, cursor)
                if start is None:
                    start = people.next_working_start(self.policy, person, cursor,
                                                      within=limit - cursor)
                if start is not None and self.is_start(person, start):
                    found.append(start)
                    break
        for team in self._rotation_duty.get(person, ()):
            for shift in self._shifts(team, after):
                if found and shift.start >= min(found):
                    break  # no earlier than one found already
                if person in shift.people:
                    found += [at for at, _ in self._arrivals(shift, after, (person,))]
        return min(found) if found else None
