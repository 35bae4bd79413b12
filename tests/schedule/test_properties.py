"""Properties of the schedule arithmetic, over generated zones, rotations, hours and
overrides (Hypothesis): the rules hold everywhere, not only at the examples."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise, permutations
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.policy.model import (
    Holiday,
    HolidayCalendar,
    Layer,
    Policy,
    Rotation,
    StaffMember,
    Team,
    TimeWindow,
    Town,
    WeekSchedule,
)
from guardian.schedule.duty import on_call, on_duty, team_shifts
from guardian.schedule.layers import rotation_at, rotation_pieces
from guardian.schedule.localtime import zone
from guardian.schedule.overrides import Override, compose
from guardian.schedule.people import in_quiet_hours, is_working, next_working_start
from guardian.schedule.rotation import layer_at, turn_at
from guardian.schedule.timeline import Timeline

UTC = dt.UTC
# Zones with one-hour, half-hour and midnight DST changes, and none.
ZONES = ["Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
         "Pacific/Chatham", "Asia/Kolkata", "UTC"]
PEOPLE = ["ana", "bea", "cruz", "dani"]
EPOCH = dt.datetime(2026, 1, 1, tzinfo=UTC)
SLOW = settings(max_examples=60, deadline=None)

instants = st.integers(0, 2 * 365 * 24 * 3600).map(lambda s: EPOCH + dt.timedelta(seconds=s))
quarter_hours = st.integers(0, 95).map(lambda q: q * 15)


@st.composite
def windows(draw: st.DrawFn) -> TimeWindow:
    return TimeWindow(draw(quarter_hours), draw(st.integers(0, 96).map(lambda q: q * 15)))


@st.composite
def weeks(draw: st.DrawFn, min_days: int = 0) -> WeekSchedule:
    days = [tuple(sorted(set(draw(st.lists(windows(), max_size=2))))) for _ in range(7)]
    week = WeekSchedule(tuple(days))
    if min_days and not week:
        return WeekSchedule.parse({"mon-fri": "09:00-17:00"})
    return week


@st.composite
def layers(draw: st.DrawFn, name: str, priority: int) -> Layer:
    restricted = draw(st.booleans())
    return Layer(
        name=name, priority=priority,
        members=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
        shift=draw(st.sampled_from(["hourly", "daily", "weekly", "12h", "90m", "3d",
                                    "PT45M", "P1DT6H"])),
        hand_off=dt.time(*divmod(draw(quarter_hours), 60)),
        start=draw(st.dates(dt.date(2025, 12, 1), dt.date(2026, 6, 1))),
        restrictions=draw(weeks(min_days=1)) if restricted else None)


@st.composite
def rotations(draw: st.DrawFn, rotation_id: str = "r") -> Rotation:
    count = draw(st.integers(1, 3))
    return Rotation(id=rotation_id, name=rotation_id, timezone=draw(st.sampled_from(ZONES)),
                    layers=[draw(layers(f"l{i}", i)) for i in range(count)])


@SLOW
@given(rotations(), instants)
def test_a_rotation_has_one_person_or_a_declared_gap_at_every_instant(
        rotation: Rotation, at: dt.datetime) -> None:
    tz = zone(rotation.timezone)
    found = rotation_at(rotation, at)
    ranked = sorted(rotation.layers, key=lambda layer: -layer.priority)
    answers = [layer_at(layer, tz, at) for layer in ranked]
    if found.gap:
        assert found.layer is None and answers == [None] * len(ranked)
    else:
        winner = next(i for i, person in enumerate(answers) if person is not None)
        assert (found.person, found.layer) == (answers[winner], ranked[winner].name)
        assert found.person in ranked[winner].members
    for layer in ranked:
        turn = turn_at(layer, tz, at)
        if turn is None:
            assert at < dt.datetime.combine(layer.start, dt.time(), tzinfo=UTC) + dt.timedelta(
                days=2)
            continue
        assert turn.start <= at < turn.end
        assert turn.person == layer.members[turn.index % len(layer.members)]
        if layer.restrictions is None:
            assert layer_at(layer, tz, at) == turn.person  # never a gap once started
    # The pieces around the instant say the same, and leave no hole.
    pieces = rotation_pieces(rotation, at - dt.timedelta(days=2), at + dt.timedelta(days=2))
    assert all(a.end == b.start and a.value != b.value for a, b in pairwise(pieces))
    [piece] = [p for p in pieces if p.start <= at < p.end]
    assert piece.value == found


# --- overrides ----------------------------------------------------------------------------

T0 = dt.datetime(2026, 12, 1, tzinfo=UTC)


@st.composite
def overrides(draw: st.DrawFn) -> list[Override]:
    result = []
    for index in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["add", "remove", "replace"]))
        person = draw(st.sampled_from([*PEOPLE, "eva"]))
        replaces = draw(st.sampled_from([p for p in PEOPLE if p != person])) if (
            kind == "replace") else None
        result.append(Override(id=draw(st.integers(0, 5)) * 10 + index, kind=kind,
                               person=person, replaces=replaces,
                               start=T0 + dt.timedelta(hours=draw(st.integers(0, 3))),
                               end=T0 + dt.timedelta(days=1)))
    return result


@given(st.sets(st.sampled_from(PEOPLE)), overrides(), st.randoms())
def test_overrides_compose_as_documented(base: set[str], active: list[Override],
                                         rng: Any) -> None:
    result = compose(base, active).people
    shuffled = list(active)
    rng.shuffle(shuffled)
    assert compose(base, shuffled).people == result  # the list's order never matters
    removed = {o.person for o in active if o.kind == "remove"}
    added = {o.person for o in active if o.kind == "add"}
    replaced = {o.replaces for o in active if o.kind == "replace"}
    joiners = {o.person for o in active if o.kind == "replace"}
    assert not result & removed                       # removal wins
    assert added - removed <= result                  # adds stand unless removed
    assert base - removed - replaced <= result        # nobody else leaves
    assert result <= base | added | joiners           # nobody comes from nowhere


@given(st.sets(st.sampled_from(PEOPLE)), overrides())
def test_adds_and_removes_commute_among_themselves(base: set[str],
                                                   active: list[Override]) -> None:
    simple = [o for o in active if o.kind != "replace"][:4]
    results = {compose(base, list(order)).people for order in permutations(simple)}
    assert len(results) <= 1
    # Applying them one at a time, adds then removes, is the same as all at once.
    stepwise = set(base) | {o.person for o in simple if o.kind == "add"}
    stepwise -= {o.person for o in simple if o.kind == "remove"}
    assert compose(base, simple).people == stepwise


# --- a person's own time ---------------------------------------------------------------

@st.composite
def people_policies(draw: st.DrawFn) -> Policy:
    dates = draw(st.sets(st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)), max_size=30))
    calendar = HolidayCalendar(id="h", name="H",
                               days=[Holiday(date=d, name="holiday") for d in dates])
    staff = tuple(StaffMember(id=p, name=p, timezone=draw(st.sampled_from(ZONES)),
                              working_hours=draw(weeks()), quiet_hours=draw(weeks()),
                              holidays="h") for p in PEOPLE[:2])
    return Policy(town=Town(name="T", timezone="UTC", languages=["es"]), staff=staff,
                  teams=(), categories=(), holiday_calendars=(calendar,))


@SLOW
@given(people_policies(), instants, st.floats(0, 1))
def test_a_person_is_never_both_working_and_in_quiet_hours(policy: Policy, at: dt.datetime,
                                                           fraction: float) -> None:
    for person in policy.staff:
        assert not (is_working(policy, person.id, at) and in_quiet_hours(policy, person.id, at))
        start = next_working_start(policy, person.id, at, within=dt.timedelta(days=20))
        if start is None:
            continue
        # It begins a working period, outside quiet hours, and nothing earlier after `at`
        # does (when `at` itself is off work).
        assert start >= at and is_working(policy, person.id, start)
        assert not in_quiet_hours(policy, person.id, start)
        assert not is_working(policy, person.id, start - dt.timedelta(seconds=1))
        if not is_working(policy, person.id, at):
            probe = at + (start - at) * fraction
            assert probe >= start or not is_working(policy, person.id, probe)


# --- a team's shifts ---------------------------------------------------------------------

@st.composite
def team_policies(draw: st.DrawFn) -> tuple[Policy, list[Override]]:
    base = draw(people_policies())
    staff = base.staff + tuple(StaffMember(id=p, name=p, timezone="Europe/Madrid",
                                           working_hours=draw(weeks()))
                               for p in PEOPLE[2:])
    duty = draw(rotations("duty-r")) if draw(st.booleans()) else None
    call = draw(rotations("call-r")) if draw(st.booleans()) else None
    team = Team(id="t", name="T", members=PEOPLE, duty=duty and duty.id,
                on_call=call and call.id)
    policy = base.model_copy(update={"staff": staff, "teams": (team,), "rotations": tuple(
        r for r in (duty, call) if r is not None)})
    moves = [o.model_copy(update={"start": o.start - T0 + start, "end": o.end - T0 + start,
                                  "team": draw(st.sampled_from([None, "t", "other"])),
                                  "applies_to": draw(st.sampled_from(["duty", "on_call",
                                                                      "both"]))})
             for o in draw(overrides())
             for start in [draw(instants)]]
    return policy, moves


@SLOW
@given(team_policies(), instants, st.integers(1, 10 * 24 * 60))
def test_a_teams_shifts_cover_a_window_without_overlap_or_holes(
        generated: tuple[Policy, list[Override]], start: dt.datetime, minutes: int) -> None:
    policy, moves = generated
    end = start + dt.timedelta(minutes=minutes)
    for role, direct in (("duty", on_duty), ("on_call", on_call)):
        shifts = team_shifts(policy, "t", start, end, role=role, overrides=moves)  # type: ignore[arg-type]
        assert shifts[0].start == start and shifts[-1].end == end
        for before, after in pairwise(shifts):
            assert before.end == after.start
            assert (before.people, before.sources) != (after.people, after.sources)
        for shift in shifts:
            assert shift.start < shift.end
            assert shift.gap == (not shift.people)  # gaps are explicit shifts
            for probe in (shift.start, shift.start + (shift.end - shift.start) / 2):
                answer = direct(policy, "t", probe, moves)
                assert (answer.people, answer.sources) == (shift.people, shift.sources)


@settings(max_examples=15, deadline=None)
@given(team_policies(), instants, st.lists(st.floats(0, 1), min_size=5, max_size=20))
def test_the_timeline_answers_like_the_direct_functions(
        generated: tuple[Policy, list[Override]], start: dt.datetime,
        fractions: list[float]) -> None:
    policy, moves = generated
    end = start + dt.timedelta(days=6)
    timeline = Timeline.build(policy, start, end, overrides=moves)
    for fraction in fractions:
        at = start + (end - start) * fraction
        if at >= end:
            continue
        assert timeline.on_duty("t", at) == on_duty(policy, "t", at, moves).people
        assert timeline.on_call("t", at) == on_call(policy, "t", at, moves).people
        for person in policy.staff:
            assert timeline.is_working(person.id, at) == is_working(policy, person.id, at)
            assert timeline.in_quiet_hours(person.id, at) == in_quiet_hours(
                policy, person.id, at)
            expected = next_working_start(policy, person.id, at)
            if expected is None or expected < end:
                assert timeline.next_working_start(person.id, at) == expected
