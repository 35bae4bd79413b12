"""Who is on duty and on call in the example town, at instants, as shifts, and through the
precomputed timeline (which must agree with the direct answers)."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest

from guardian.policy.model import Policy
from guardian.schedule.duty import Source, on_call, on_duty, team_shifts
from guardian.schedule.localtime import NaiveDatetimeError, zone
from guardian.schedule.overrides import Override
from guardian.schedule.people import in_quiet_hours, is_working, next_working_start
from guardian.schedule.timeline import OutOfRangeError, Timeline

MADRID = zone("Europe/Madrid")


def wall(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=MADRID)



@pytest.mark.parametrize(("team", "local", "duty", "call"), [
    # Police: daily 24-hour turns, hand-off at 08:00; the same rotation is on call.
    ("police", "2026-11-25 07:59", {"raquel"}, {"raquel"}),
    ("police", "2026-11-25 08:00", {"pablo"}, {"pablo"}),
    ("police", "2026-11-26 08:00", {"raquel"}, {"raquel"}),
    # Street lighting: on duty by working hours, on call by a weekly Monday 08:00 rotation.
    ("lighting", "2026-11-24 07:45", {"carmen"}, {"antonio"}),
    ("lighting", "2026-11-24 10:00", {"antonio", "carmen"}, {"antonio"}),
    ("lighting", "2026-11-24 14:45", {"antonio"}, {"antonio"}),
    ("lighting", "2026-11-30 07:59", {"carmen"}, {"antonio"}),  # she starts at 07:30
    ("lighting", "2026-11-30 08:00", {"antonio", "carmen"}, {"carmen"}),
    ("lighting", "2026-12-08 10:00", set(), {"antonio"}),  # Inmaculada: nobody works
    # Mayor's office on call: Lucía, but weekend daytime is María's or Elena's layer.
    ("mayor", "2026-11-28 08:59", set(), {"lucia"}),
    ("mayor", "2026-11-28 09:00", set(), {"maria"}),
    ("mayor", "2026-11-28 21:00", set(), {"lucia"}),
    ("mayor", "2026-12-05 12:00", set(), {"elena"}),
    ("mayor", "2026-11-27 18:00", {"lucia"}, {"lucia"}),
    # Cleaning shares the town on-call rotation; rooms keep office hours (no one at night).
    ("cleaning", "2026-11-28 06:00", {"jose"}, {"lucia"}),
    ("rooms", "2026-11-26 17:00", {"maria"}, set()),  # Thursday afternoon window
    ("rooms", "2026-11-26 23:00", set(), set()),
])
def test_the_example_town(town: Policy, team: str, local: str, duty: set[str],
                          call: set[str]) -> None:
    at = wall(local)
    assert on_duty(town, team, at).people == duty
    assert on_call(town, team, at).people == call
    assert on_duty(town, team, at).gap is (not duty)


def test_sources_explain_who_is_there(town: Policy) -> None:
    at = wall("2026-11-28 10:00")
    assert on_call(town, "mayor", at).sources == (Source("rotation", "town-on-call/weekend"),)
    assert on_duty(town, "lighting", at).sources == (Source("working_hours", "lighting"),)
    swap = Override(id=7, kind="replace", person="carmen", replaces="antonio",
                    start=wall("2026-11-28 08:00"), end=wall("2026-11-29 08:00"),
                    reason="swap", team="lighting", applies_to="on_call")
    covered = on_call(town, "lighting", at, [swap])
    assert covered.people == {"carmen"}
    assert covered.sources == (Source("rotation", "lighting-on-call/main"),
                               Source("override", "7"))
    # The swap concerns lighting's on-call set only.
    assert on_call(town, "police", at, [swap]).people == {"raquel"}
    assert on_duty(town, "lighting", wall("2026-11-30 10:00"), [swap]).people == {
        "antonio", "carmen"}


def test_sick_leave_for_every_team_leaves_a_reported_gap(town: Policy) -> None:
    sick = Override(id=1, kind="remove", person="pablo", start=wall("2026-11-25 00:00"),
                    end=wall("2026-11-26 00:00"), reason="sick leave")
    shifts = team_shifts(town, "police", wall("2026-11-25 00:00"), wall("2026-11-26 12:00"),
                         overrides=[sick])
    summary = [(s.start.astimezone(MADRID).strftime("%d %H:%M"), set(s.people), s.gap)
               for s in shifts]
    assert summary == [("25 00:00", {"raquel"}, False), ("25 08:00", set(), True),
                       ("26 00:00", {"pablo"}, False), ("26 08:00", {"raquel"}, False)]
    assert Source("override", "1") in shifts[1].sources


@pytest.mark.parametrize(("team", "role"), [("lighting", "duty"), ("lighting", "on_call"),
                                            ("mayor", "on_call"), ("police", "duty"),
                                            ("rooms", "duty"), ("rooms", "on_call")])
def test_shifts_cover_the_window_without_overlap_or_holes(town: Policy, team: str,
                                                          role: str) -> None:
    start, end = wall("2026-10-20 00:00"), wall("2026-11-03 00:00")  # across fall-back
    shifts = team_shifts(town, team, start, end, role=role)  # type: ignore[arg-type]
    assert shifts[0].start == start and shifts[-1].end == end
    for before, after in pairwise(shifts):
        assert before.end == after.start
        assert (before.people, before.sources) != (after.people, after.sources)
    assert all(s.start < s.end for s in shifts)


def test_the_timeline_agrees_with_the_direct_answers(town: Policy) -> None:
    # A week around Madrid's fall-back, on a 7-minute grid (so minutes vary).
    start, end = wall("2026-10-22 00:00"), wall("2026-10-29 00:00")
    timeline = Timeline.build(town, start, end)
    at = start
    while at < end:
        for team in town.teams:
            assert timeline.on_duty(team.id, at) == on_duty(town, team.id, at).people, (team, at)
            assert timeline.on_call(team.id, at) == on_call(town, team.id, at).people, (team, at)
        for person in town.staff:
            assert timeline.is_working(person.id, at) == is_working(town, person.id, at)
            assert timeline.in_quiet_hours(person.id, at) == in_quiet_hours(town, person.id, at)
        at += dt.timedelta(minutes=7)
    for probe in ("2026-10-22 00:00", "2026-10-23 09:00", "2026-10-23 15:00"):
        assert (timeline.next_working_start("antonio", wall(probe))
                == next_working_start(town, "antonio", wall(probe)))


def test_the_timeline_refuses_what_it_cannot_answer(town: Policy) -> None:
    timeline = Timeline.build(town, wall("2026-11-01 00:00"), wall("2026-11-08 00:00"))
    with pytest.raises(OutOfRangeError):
        timeline.on_duty("police", wall("2026-11-08 00:00"))
    with pytest.raises(OutOfRangeError):
        timeline.is_working("lucia", wall("2026-10-31 23:59"))
    with pytest.raises(NaiveDatetimeError):
        timeline.on_call("police", dt.datetime(2026, 11, 2, 12))
    with pytest.raises(KeyError, match="nobody"):
        timeline.on_duty("nobody", wall("2026-11-02 12:00"))
    with pytest.raises(ValueError, match="start before end"):
        Timeline.build(town, wall("2026-11-02 00:00"), wall("2026-11-01 00:00"))
    shift = timeline.shift_at("police", wall("2026-11-02 12:00"))
    assert shift.start == wall("2026-11-02 08:00") and shift.end == wall("2026-11-03 08:00")
    assert [s.start for s in timeline.shifts("police", wall("2026-11-02 12:00"),
                                             wall("2026-11-03 09:00"))] == [
        wall("2026-11-02 08:00"), wall("2026-11-03 08:00")]


def test_direct_answers_refuse_naive_instants_and_unknown_teams(town: Policy) -> None:
    with pytest.raises(NaiveDatetimeError):
        on_duty(town, "police", dt.datetime(2026, 11, 2, 12))
    with pytest.raises(KeyError, match="nobody"):
        on_call(town, "nobody", wall("2026-11-02 12:00"))
