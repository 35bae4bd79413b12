"""Wall-clock rules, weekly windows, holidays and a person's own time (working, quiet)."""

from __future__ import annotations

import datetime as dt

import pytest

from guardian.policy.model import (
    HolidayCalendar,
    Policy,
    StaffMember,
    TimeWindow,
    Town,
    WeekSchedule,
)
from guardian.schedule.localtime import NaiveDatetimeError, resolve, zone
from guardian.schedule.people import (
    in_quiet_hours,
    is_working,
    next_working_start,
    working_intervals,
)
from guardian.schedule.windows import in_windows, window_intervals

MADRID = zone("Europe/Madrid")
UTC = dt.UTC


def wall(text: str, tz: str = "Europe/Madrid") -> dt.datetime:
    """An aware datetime from local wall-clock text (ambiguous times: fold=0)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone(tz))


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("tz", "local", "expected_utc"), [
    # Madrid springs forward on the last Sunday of March at 02:00: 02:xx does not exist
    # and resolves to the jump itself, which the clock shows as 03:00.
    ("Europe/Madrid", "2026-03-29 02:30", "2026-03-29 01:00"),
    ("Europe/Madrid", "2026-03-29 02:00", "2026-03-29 01:00"),
    ("Europe/Madrid", "2026-03-29 03:00", "2026-03-29 01:00"),
    ("Europe/Madrid", "2026-03-29 01:59", "2026-03-29 00:59"),
    # ...and falls back on the last Sunday of October at 03:00: 02:xx happens twice and
    # resolves to the first time (fold=0, still CEST).
    ("Europe/Madrid", "2026-10-25 02:30", "2026-10-25 00:30"),
    ("Europe/Madrid", "2026-10-25 03:00", "2026-10-25 02:00"),
    ("Europe/Madrid", "2027-03-28 02:15", "2027-03-28 01:00"),
    ("Europe/Madrid", "2027-10-31 02:15", "2027-10-31 00:15"),
    # New York: 01:30 on fall-back day is ambiguous; fold=0 is EDT (UTC-4).
    ("America/New_York", "2026-11-01 01:30", "2026-11-01 05:30"),
    ("America/New_York", "2026-03-08 02:30", "2026-03-08 07:00"),
    # Lord Howe moves by 30 minutes: 02:00 -> 02:30 in October, 02:00 -> 01:30 in April.
    ("Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03 15:30"),
    ("Australia/Lord_Howe", "2026-10-04 02:30", "2026-10-03 15:30"),
    ("Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04 14:45"),
    ("Australia/Lord_Howe", "2026-04-05 02:00", "2026-04-04 15:30"),
])
def test_wall_clock_times_resolve_by_one_rule(tz: str, local: str, expected_utc: str) -> None:
    assert resolve(dt.datetime.fromisoformat(local), zone(tz)) == utc(expected_utc)


def test_resolve_is_the_inverse_of_the_wall_clock_on_ordinary_times() -> None:
    instant = dt.datetime(2026, 7, 1, 10, 17, 3, tzinfo=UTC)
    reading = instant.astimezone(MADRID).replace(tzinfo=None)
    assert resolve(reading, MADRID) == instant


NIGHT = WeekSchedule.parse({"mon-sun": "20:00-08:00"})


@pytest.mark.parametrize(("local", "inside"), [
    ("2026-11-24 07:00", True),     # Tuesday 07:00, inside Monday's 20:00-08:00
    ("2026-11-24 07:59", True),
    ("2026-11-24 08:00", False),    # end-exclusive
    ("2026-11-24 19:59", False),
    ("2026-11-24 20:00", True),    # start-inclusive
])
def test_windows_are_start_inclusive_and_end_exclusive(local: str, inside: bool) -> None:
    assert in_windows(NIGHT, MADRID, wall(local)) is inside


def test_an_overnight_window_belongs_to_the_day_it_starts_on() -> None:
    friday_night = WeekSchedule.parse({"fri": "22:00-06:00"})
    assert in_windows(friday_night, MADRID, wall("2026-11-28 05:59"))
    assert not in_windows(friday_night, MADRID, wall("2026-11-27 05:00"))
    sunday_night = WeekSchedule.parse({"sun": "22:00-06:00"})  # wraps into Monday
    assert in_windows(sunday_night, MADRID, wall("2026-11-30 01:00"))


def test_equal_ends_mean_the_whole_day_so_daily_11_to_11_is_always() -> None:
    always = WeekSchedule.parse("11:00-11:00")
    start = dt.datetime(2026, 3, 27, tzinfo=UTC)
    end = start + dt.timedelta(days=10)  # across Madrid's spring-forward
    assert window_intervals(always, MADRID, start, end) == [(start, end)]
    assert TimeWindow.parse("00:00-24:00").minutes == 24 * 60


@pytest.mark.parametrize(("day", "hours"), [
    ("2026-03-28 00:00", 10),  # the night clocks spring forward: an hour shorter
    ("2026-10-24 00:00", 12),  # the night they fall back: an hour longer
    ("2026-11-21 00:00", 11),
])
def test_a_night_window_is_wall_clock_so_dst_changes_its_length(day: str, hours: int) -> None:
    night = WeekSchedule.parse("21:00-08:00")
    start = wall(day).replace(hour=12)
    [(s, e)] = window_intervals(night, MADRID, start, start + dt.timedelta(hours=24))
    assert (s.astimezone(MADRID).hour, e.astimezone(MADRID).hour) == (21, 8)
    assert e - s == dt.timedelta(hours=hours)


def test_a_window_inside_the_skipped_hour_is_empty() -> None:
    skipped = WeekSchedule.parse({"sun": "02:10-02:50"})
    start = dt.datetime(2026, 3, 29, tzinfo=UTC)
    assert window_intervals(skipped, MADRID, start, start + dt.timedelta(days=1)) == []
    assert window_intervals(skipped, MADRID, start + dt.timedelta(days=7),
                            start + dt.timedelta(days=8)) != []


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="no time zone"):
        in_windows(NIGHT, MADRID, dt.datetime(2026, 1, 1, 12))
    with pytest.raises(NaiveDatetimeError):
        window_intervals(NIGHT, MADRID, dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2))


# --- a person's own time -----------------------------------------------------------------

def person_policy(**fields: object) -> Policy:
    ana = StaffMember.model_validate({"id": "ana", "name": "Ana", "timezone": "Europe/Madrid",
                                      "holidays": "local", **fields})
    calendar = HolidayCalendar.model_validate({"id": "local", "name": "Local", "days": [
        {"date": "2026-12-08", "name": "Inmaculada"},
        {"date": "2026-12-25", "name": "Navidad"}]})
    return Policy(town=Town(name="T", timezone="Europe/Madrid", languages=["es"]),
                  staff=(ana,), teams=(), categories=(), holiday_calendars=(calendar,))


OFFICE = person_policy(working_hours={"mon-fri": ["08:00-15:00", "17:00-19:00"]},
                       quiet_hours="22:00-07:00")


@pytest.mark.parametrize(("local", "working", "quiet"), [
    ("2026-12-07 07:59", False, False),   # Monday before work
    ("2026-12-07 08:00", True, False),
    ("2026-12-07 14:59", True, False),
    ("2026-12-07 15:00", False, False),   # the break between windows
    ("2026-12-07 17:30", True, False),
    ("2026-12-07 23:00", False, True),
    ("2026-12-08 03:00", False, True),     # quiet hours wrap midnight, holiday or not
    ("2026-12-08 10:00", False, False),   # Tuesday, but a holiday
    ("2026-12-09 10:00", True, False),
    ("2026-12-12 10:00", False, False),  # Saturday
])
def test_working_and_quiet_hours_in_the_persons_zone(local: str, working: bool,
                                                     quiet: bool) -> None:
    at = wall(local)
    assert is_working(OFFICE, "ana", at) is working
    assert in_quiet_hours(OFFICE, "ana", at) is quiet
    # The same instant seen from another zone gives the same answer.
    assert is_working(OFFICE, "ana", at.astimezone(zone("Asia/Tokyo"))) is working


def test_quiet_hours_win_over_working_hours() -> None:
    overlap = person_policy(working_hours={"mon-fri": "06:00-15:00"}, quiet_hours="22:00-07:00")
    assert not is_working(overlap, "ana", wall("2026-12-09 06:30"))
    assert is_working(overlap, "ana", wall("2026-12-09 07:00"))
    # The working period therefore begins when the quiet hours end.
    start = next_working_start(overlap, "ana", wall("2026-12-09 00:00"))
    assert start == wall("2026-12-09 07:00")


def test_a_holiday_stops_an_overnight_window_at_midnight() -> None:
    nights = person_policy(working_hours={"mon": "20:00-04:00"})
    monday = wall("2026-12-07 12:00")
    # Monday 7 Dec 20:00 to midnight only: 8 Dec is a holiday.
    assert working_intervals(nights, "ana", monday, monday + dt.timedelta(days=1)) == [
        (wall("2026-12-07 20:00").astimezone(UTC),
         wall("2026-12-08 00:00").astimezone(UTC))]


@pytest.mark.parametrize(("after", "expected"), [
    ("2026-12-07 06:00", "2026-12-07 08:00"),     # before work: today at 08:00
    ("2026-12-07 08:00", "2026-12-07 08:00"),     # exactly at the start
    ("2026-12-07 09:00", "2026-12-07 17:00"),    # at work: the next period begins 17:00
    ("2026-12-07 20:00", "2026-12-09 08:00"),    # Tuesday 8 Dec is a holiday
    ("2026-12-11 19:00", "2026-12-14 08:00"),  # Friday evening: Monday
    ("2026-12-24 16:00", "2026-12-24 17:00"),
    ("2026-12-24 19:00", "2026-12-28 08:00"),  # over Christmas and the weekend
])
def test_the_next_working_period_starts(after: str, expected: str) -> None:
    start = next_working_start(OFFICE, "ana", wall(after))
    assert start == wall(expected)
    assert start is not None and not in_quiet_hours(OFFICE, "ana", start)


def test_no_working_hours_means_no_next_working_period() -> None:
    never = person_policy(quiet_hours="22:00-07:00")
    assert next_working_start(never, "ana", wall("2026-12-07 06:00")) is None
    assert not is_working(never, "ana", wall("2026-12-07 10:00"))


def test_working_hours_across_the_spring_forward_night() -> None:
    night = person_policy(working_hours={"sat": "22:00-06:00"})
    saturday = wall("2026-03-28 12:00")
    [(start, end)] = working_intervals(night, "ana", saturday,
                                       saturday + dt.timedelta(days=1))
    assert end - start == dt.timedelta(hours=7)
    assert is_working(night, "ana", wall("2026-03-29 03:30"))
    assert not is_working(night, "ana", wall("2026-03-29 06:00"))
