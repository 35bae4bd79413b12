"""A person's own shifts (the today page, their calendar): every team and role they are
in, merged where a team's shifts keep them on, inside the window asked for."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.schedule import on_call, on_duty
from guardian.schedule.views import person_shifts
from tests.conftest import example_policy

POLICY = example_policy()
MONDAY = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)


def test_carmens_week_is_her_working_mornings_and_her_on_call_stretch() -> None:
    shifts = person_shifts(POLICY, "carmen", MONDAY, MONDAY + dt.timedelta(days=7))
    roles = {(s.team, s.role) for s in shifts}
    assert ("lighting", "duty") in roles
    assert shifts == sorted(shifts, key=lambda s: (s.start, s.team, s.role))
    assert all(MONDAY <= s.start < s.end <= MONDAY + dt.timedelta(days=7) for s in shifts)


@settings(max_examples=40, deadline=None)
@given(person=st.sampled_from(sorted(POLICY.people)),
       offset=st.integers(min_value=0, max_value=24 * 60),
       hours=st.integers(min_value=1, max_value=24 * 10),
       probe=st.floats(min_value=0, max_value=1))
def test_a_person_is_on_exactly_when_their_shifts_say(person: str, offset: int, hours: int,
                                                       probe: float) -> None:
    start = MONDAY + dt.timedelta(minutes=offset)
    end = start + dt.timedelta(hours=hours)
    shifts = person_shifts(POLICY, person, start, end)
    at = start + (end - start) * probe
    if at >= end:
        return
    for team in POLICY.teams:
        for role, who in (("duty", on_duty), ("on_call", on_call)):
            inside = any(s.team == team.id and s.role == role and s.start <= at < s.end
                         for s in shifts)
            assert inside == (person in who(POLICY, team.id, at).people), (team.id, role, at)
    # Merged: a team's stretches in one role never touch.
    for key in {(s.team, s.role) for s in shifts}:
        mine = [s for s in shifts if (s.team, s.role) == key]
        assert all(a.end < b.start for a, b in pairwise(mine))
