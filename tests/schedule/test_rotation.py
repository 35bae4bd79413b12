"""Rotations and their layers, table-driven at the edges public suites test."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Any

import pytest

from guardian.policy.model import Layer, Rotation
from guardian.schedule.layers import GAP, OnRotation, rotation_at, rotation_pieces
from guardian.schedule.localtime import NaiveDatetimeError, zone
from guardian.schedule.rotation import layer_at, layer_pieces, turn_at, turns

UTC = dt.UTC


def wall(text: str, tz: str = "Europe/Madrid") -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone(tz))


def layer(**fields: Any) -> Layer:
    return Layer.model_validate({"members": ["ana", "bea"], "shift": "daily",
                                 "hand_off": "08:00", "start": "2026-01-05", **fields})


def rotation(*layers: Layer, tz: str = "Europe/Madrid") -> Rotation:
    return Rotation(id="r", name="R", timezone=tz, layers=list(layers))


def hand_offs(the_layer: Layer, tz: str, start: str, end: str) -> list[str]:
    """Local wall-clock readings of the hand-offs within [start, end)."""
    zone_info = zone(tz)
    found = turns(the_layer, zone_info, wall(start, tz), wall(end, tz))
    return [t.start.astimezone(zone_info).strftime("%m-%d %H:%M") for t in found
            if t.start >= wall(start, tz)]


def test_daily_hand_off_inside_the_skipped_hour_happens_when_the_clock_resumes() -> None:
    # Madrid springs forward at 02:00 on 29 March 2026: a 02:30 hand-off happens at 03:00
    # that day and at 02:30 again the next.
    daily = layer(hand_off="02:30", start="2026-03-01")
    assert hand_offs(daily, "Europe/Madrid", "2026-03-28 00:00", "2026-03-31 00:00") == [
        "03-28 02:30", "03-29 03:00", "03-30 02:30"]
    tz = zone("Europe/Madrid")
    before = turn_at(daily, tz, wall("2026-03-29 01:59"))
    after = turn_at(daily, tz, wall("2026-03-29 03:00"))
    assert before is not None and after is not None and before.person != after.person
    assert after.end - after.start == dt.timedelta(hours=23, minutes=30)


def test_hourly_rotation_has_no_0200_shift_on_spring_forward_day() -> None:
    hourly = layer(shift="hourly", hand_off="00:00", start="2026-03-01",
                   members=["ana", "bea", "cruz"])
    assert hand_offs(hourly, "Europe/Madrid", "2026-03-29 00:00", "2026-03-29 05:00") == [
        "03-29 00:00", "03-29 01:00", "03-29 03:00", "03-29 04:00"]
    found = turns(hourly, zone("Europe/Madrid"), wall("2026-03-29 00:00"),
                  wall("2026-03-29 05:00"))
    assert all(t.end - t.start == dt.timedelta(hours=1) for t in found)
    # The skipped turn's member misses it: turn k is always members[k % 3].
    assert [t.person for t in found] == ["ana", "bea", "ana", "bea"]
    assert found[2].index == found[1].index + 2


def test_a_24_hour_shift_across_fall_back_lasts_25_hours() -> None:
    daily = layer(hand_off="08:00", start="2026-03-01")
    tz = zone("Europe/Madrid")
    turn = turn_at(daily, tz, wall("2026-10-25 01:00"))
    assert turn is not None
    assert turn.start == wall("2026-10-24 08:00") and turn.end == wall("2026-10-25 08:00")
    assert turn.end - turn.start == dt.timedelta(hours=25)
    spring = turn_at(daily, tz, wall("2026-03-28 12:00"))
    assert spring is not None and spring.end - spring.start == dt.timedelta(hours=23)
    after = turn_at(daily, tz, wall("2026-10-25 08:00"))
    assert after is not None and after.end - after.start == dt.timedelta(hours=24)


def test_an_ambiguous_hand_off_takes_the_first_occurrence() -> None:
    # New York falls back at 02:00 on 1 Nov 2026: 01:30 happens twice; the hand-off is
    # the first (EDT, 05:30 UTC), so the second 01:30 is inside the new turn.
    daily = layer(hand_off="01:30", start="2026-10-01")
    tz = zone("America/New_York")
    first_0130 = dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    turn = turn_at(daily, tz, first_0130)
    assert turn is not None and turn.start == first_0130
    assert turn_at(daily, tz, first_0130 + dt.timedelta(hours=1)) == turn
    assert turn.end - turn.start == dt.timedelta(hours=25)


def test_lord_howe_moves_by_half_an_hour() -> None:
    daily = layer(hand_off="02:15", start="2026-09-01")
    tz = zone("Australia/Lord_Howe")
    # Spring forward on 4 Oct 2026, 02:00 -> 02:30: the 02:15 hand-off happens at 02:30.
    assert hand_offs(daily, "Australia/Lord_Howe", "2026-10-03 00:00", "2026-10-06 00:00"
                     ) == ["10-03 02:15", "10-04 02:30", "10-05 02:15"]
    spring = turn_at(daily, tz, wall("2026-10-04 12:00", "Australia/Lord_Howe"))
    assert spring is not None and spring.end - spring.start == dt.timedelta(
        hours=23, minutes=45)
    # The turn before runs from 02:15 to the jump at 02:00 (shown as 02:30): also 23h45m.
    previous = turn_at(daily, tz, wall("2026-10-04 01:00", "Australia/Lord_Howe"))
    assert previous is not None and previous.end - previous.start == dt.timedelta(
        hours=23, minutes=45)
    # Fall back on 5 Apr 2026, 02:00 -> 01:30: that day's turn lasts 24.5 hours.
    autumn = turn_at(layer(hand_off="08:00", start="2026-03-01"), tz,
                     wall("2026-04-05 03:00", "Australia/Lord_Howe"))
    assert autumn is not None and autumn.end - autumn.start == dt.timedelta(
        hours=24, minutes=30)


@pytest.mark.parametrize(("elapsed", "person"), [
    (dt.timedelta(0), "ana"),
    (dt.timedelta(hours=1, minutes=59), "ana"),
    (dt.timedelta(hours=2), "bea"),
    (dt.timedelta(hours=3, minutes=59), "bea"),
    (dt.timedelta(hours=4), "ana"),
    (dt.timedelta(hours=6), "bea"),
    (dt.timedelta(days=365, hours=2), "bea"),
])
def test_two_people_with_two_hour_shifts(elapsed: dt.timedelta, person: str) -> None:
    two_hours = layer(shift="2h", hand_off="00:00", start="2026-06-01")
    tz = zone("UTC")
    assert layer_at(two_hours, tz, dt.datetime(2026, 6, 1, tzinfo=UTC) + elapsed) == person


@pytest.mark.parametrize(("local", "person"), [
    ("2026-01-05 07:59", None),  # before the first hand-off: a gap, not a guess
    ("2026-01-05 08:00", "ana"),
    ("2026-01-12 07:59", "ana"),
    ("2026-01-12 08:00", "bea"),
    ("2026-01-19 08:00", "ana"),
    ("2026-03-30 08:00", "ana"),  # twelve weeks on, across spring-forward
    ("2026-11-23 08:00", "ana"),  # 46 weeks on
    ("2026-11-30 08:00", "bea"),
])
def test_weekly_rotation_hands_off_on_the_start_dates_weekday(local: str,
                                                              person: str | None) -> None:
    weekly = layer(shift="weekly", hand_off="08:00", start="2026-01-05")  # a Monday
    assert layer_at(weekly, zone("Europe/Madrid"), wall(local)) == person


@pytest.mark.parametrize(("shift", "local", "person"), [
    ("12h", "2026-03-29 07:59", "bea"),   # night turn 20:00 -> 08:00, 11 hours long
    ("12h", "2026-03-29 08:00", "ana"),
    ("12h", "2026-03-29 20:00", "bea"),
    ("PT12H", "2026-10-25 07:59", "bea"),  # the night turn across fall-back, 13 hours
    ("PT12H", "2026-10-25 08:00", "ana"),
    ("P2D", "2026-01-07 08:00", "bea"),
    ("3d", "2026-01-08 07:59", "ana"),
])
def test_custom_shift_lengths_keep_the_hand_off_time(shift: str, local: str,
                                                     person: str) -> None:
    custom = layer(shift=shift, hand_off="08:00", start="2026-01-05")
    assert layer_at(custom, zone("Europe/Madrid"), wall(local)) == person


# --- layers ----------------------------------------------------------------------------

BASE = layer(name="base", priority=0, members=["ana"], shift="weekly")
DAYTIME = layer(name="daytime", priority=5, members=["bea", "cruz"], shift="daily",
                restrictions={"mon-fri": "09:00-17:00"})
NIGHTS = layer(name="nights", priority=0, members=["dani"], shift="daily",
               restrictions={"daily": "22:00-06:00"})


@pytest.mark.parametrize(("layers", "local", "expected"), [
    ((BASE, DAYTIME), "2026-02-02 10:00", OnRotation("bea", "daytime")),  # higher wins
    ((BASE, DAYTIME), "2026-02-03 10:00", OnRotation("cruz", "daytime")),
    ((BASE, DAYTIME), "2026-02-02 17:00", OnRotation("ana", "base")),  # its gap shows base
    ((BASE, DAYTIME), "2026-02-07 10:00", OnRotation("ana", "base")),  # Saturday
    ((DAYTIME, NIGHTS), "2026-02-02 10:00", OnRotation("bea", "daytime")),
    ((DAYTIME, NIGHTS), "2026-02-02 23:00", OnRotation("dani", "nights")),
    ((DAYTIME, NIGHTS), "2026-02-02 20:00", GAP),  # no one at all: reported
    ((BASE,), "2026-01-01 12:00", GAP),  # before the start
])
def test_layers(layers: tuple[Layer, ...], local: str, expected: OnRotation) -> None:
    assert rotation_at(rotation(*layers), wall(local)) == expected


def test_rotation_pieces_show_every_gap_and_agree_with_instants() -> None:
    both = rotation(DAYTIME, NIGHTS)
    start, end = wall("2026-02-02 00:00"), wall("2026-02-04 00:00")
    pieces = rotation_pieces(both, start, end)
    assert pieces[0].start == start and pieces[-1].end == end
    assert all(a.end == b.start for a, b in pairwise(pieces))
    readable = [(p.start.astimezone(zone("Europe/Madrid")).strftime("%d %H:%M"), p.value.person)
                for p in pieces]
    assert readable[:5] == [("02 00:00", "dani"), ("02 06:00", None), ("02 09:00", "bea"),
                            ("02 17:00", None), ("02 22:00", "dani")]
    probe = start
    while probe < end:
        [piece] = [p for p in pieces if p.start <= probe < p.end]
        assert piece.value == rotation_at(both, probe), probe
        probe += dt.timedelta(minutes=30)


def test_layer_pieces_cut_restricted_turns() -> None:
    tz = zone("Europe/Madrid")
    pieces = layer_pieces(DAYTIME, tz, wall("2026-02-06 00:00"), wall("2026-02-09 00:00"))
    people = [(p.start.astimezone(tz).strftime("%a %H:%M"), p.value) for p in pieces]
    # 6 Feb is turn 32 since 5 Jan: bea; the weekend is outside the restriction.
    assert people == [("Fri 00:00", None), ("Fri 09:00", "bea"), ("Fri 17:00", None)]


def test_layers_need_distinct_names_and_priorities() -> None:
    with pytest.raises(ValueError, match="same priority"):
        rotation(layer(name="a"), layer(name="b"))
    with pytest.raises(ValueError, match="same name"):
        rotation(layer(priority=1), layer(priority=2))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        rotation_at(rotation(BASE), dt.datetime(2026, 2, 2, 10))
