"""Holidays as whole local days: which calendar a person follows (their own, else the
town's, with the calendars it includes), a holiday's name, whether an instant falls on one,
and holidays as intervals of instants, which are 23 or 25 hours long on the days Madrid's
clocks change (last Sunday of March, 02:00 -> 03:00; last Sunday of October, 03:00 -> 02:00)."""

from __future__ import annotations

import datetime as dt

import pytest

from guardian.policy.model import HolidayCalendar, Policy, StaffMember, Town
from guardian.policy_files.loader import load_policy
from guardian.schedule.holidays import holiday_intervals, holiday_name, holidays_of, is_holiday
from guardian.schedule.localtime import NaiveDatetimeError, zone
from tests.conftest import POLICIES

UTC = dt.UTC
MADRID = zone("Europe/Madrid")


def wall(text: str, tz: str = "Europe/Madrid") -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone(tz))


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def calendar(calendar_id: str, days: dict[str, str], include: tuple[str, ...] = ()
             ) -> HolidayCalendar:
    return HolidayCalendar.model_validate({
        "id": calendar_id, "name": calendar_id, "include": list(include),
        "days": [{"date": d, "name": n} for d, n in days.items()]})


def person(person_id: str, tz: str = "Europe/Madrid", holidays: str | None = None
           ) -> StaffMember:
    return StaffMember.model_validate({"id": person_id, "name": person_id.title(),
                                       "timezone": tz, "holidays": holidays})


NATIONAL = calendar("nacional", {"2026-10-12": "Fiesta Nacional",
                                 "2026-12-08": "Inmaculada Concepción"})
# Invented local days, chosen on the Sundays Madrid's clocks change, and a long weekend.
LOCAL = calendar("local", {"2026-03-29": "Romería (invented)",
                           "2026-10-25": "Feria de otoño (invented)",
                           "2026-12-24": "Nochebuena (invented)",
                           "2026-12-25": "Navidad"}, include=("nacional",))
POLICY = Policy(
    town=Town(name="Villa de Ejemplo", timezone="Europe/Madrid", languages=["es"],
              holidays="local"),
    staff=(person("ana"),                                      # the town's calendar
           person("beto", holidays="nacional"),                # national days only
           person("cris", tz="Atlantic/Canary"),               # the town's, an hour behind
           ),
    teams=(), categories=(), holiday_calendars=(NATIONAL, LOCAL))


# --- which days ----------------------------------------------------------------------------

def test_a_person_follows_the_towns_calendar_with_what_it_includes() -> None:
    assert holidays_of(POLICY, "ana") == {
        dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 12, 24),
        dt.date(2026, 12, 25), dt.date(2026, 10, 12), dt.date(2026, 12, 8)}


def test_a_person_with_their_own_calendar_follows_only_that_one() -> None:
    assert holidays_of(POLICY, "beto") == {dt.date(2026, 10, 12), dt.date(2026, 12, 8)}


def test_without_any_calendar_there_are_no_holidays() -> None:
    bare = Policy(town=Town(name="T", timezone="Europe/Madrid", languages=["es"]),
                  staff=(person("ana"),), teams=(), categories=())
    assert holidays_of(bare, "ana") == frozenset()
    assert holiday_intervals(bare, "ana", wall("2026-12-01 00:00"),
                             wall("2027-01-01 00:00")) == []
    assert not is_holiday(bare, "ana", wall("2026-12-25 12:00"))


@pytest.mark.parametrize(("calendar_id", "day", "name"), [
    ("local", "2026-12-25", "Navidad"),
    ("local", "2026-12-08", "Inmaculada Concepción"),   # from the included calendar
    ("nacional", "2026-12-25", None),                   # not a national day here
    ("local", "2026-12-09", None),                      # an ordinary day
    ("unknown", "2026-12-25", None),
])
def test_a_holidays_name(calendar_id: str, day: str, name: str | None) -> None:
    assert holiday_name(POLICY, calendar_id, dt.date.fromisoformat(day)) == name


def test_calendars_that_include_each_other_do_not_loop() -> None:
    """The loader rejects such a cycle; the look-up still stops if one slips through."""
    looped = Policy(town=Town(name="T", timezone="Europe/Madrid", languages=["es"],
                              holidays="a"),
                    staff=(person("ana"),), teams=(), categories=(),
                    holiday_calendars=(calendar("a", {"2026-05-01": "Trabajo"}, ("b",)),
                                       calendar("b", {"2026-05-15": "San Isidro"}, ("a",))))
    assert holiday_name(looped, "a", dt.date(2026, 5, 15)) == "San Isidro"
    assert holiday_name(looped, "a", dt.date(2026, 5, 2)) is None
    assert holidays_of(looped, "ana") == {dt.date(2026, 5, 1), dt.date(2026, 5, 15)}


# --- instants ------------------------------------------------------------------------------

@pytest.mark.parametrize(("person_id", "instant", "expected"), [
    # Spring forward: the 29th begins at 23:00 UTC on the 28th (CET, UTC+1) ...
    ("ana", "2026-03-28 22:59:59", False),
    ("ana", "2026-03-28 23:00:00", True),
    # ... and, after the jump, ends at 22:00 UTC (CEST, UTC+2).
    ("ana", "2026-03-29 21:59:59", True),
    ("ana", "2026-03-29 22:00:00", False),
    # Fall back: the 25th begins at 22:00 UTC on the 24th (CEST) and ends at 23:00 UTC (CET).
    ("ana", "2026-10-24 21:59:59", False),
    ("ana", "2026-10-24 22:00:00", True),
    ("ana", "2026-10-25 22:59:59", True),
    ("ana", "2026-10-25 23:00:00", False),
    # Beto's calendar does not have the local days.
    ("beto", "2026-10-25 12:00:00", False),
    ("beto", "2026-10-12 12:00:00", True),
    # Cris follows the town's calendar in the Canaries' own time, an hour behind Madrid's.
    ("cris", "2026-12-07 23:30:00", False),    # 00:30 on the 8th in Madrid, 23:30 in Las Palmas
    ("cris", "2026-12-08 00:00:00", True),
    ("cris", "2026-12-08 23:59:59", True),
])
def test_whether_an_instant_falls_on_a_holiday(person_id: str, instant: str,
                                               expected: bool) -> None:
    at = utc(instant)
    assert is_holiday(POLICY, person_id, at) is expected
    # The zone the instant is written in does not matter.
    assert is_holiday(POLICY, person_id, at.astimezone(zone("Asia/Tokyo"))) is expected


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        is_holiday(POLICY, "ana", dt.datetime(2026, 12, 25, 12, 0))


# --- intervals -----------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "start_utc", "end_utc", "hours"), [
    ("2026-03-29", "2026-03-28 23:00", "2026-03-29 22:00", 23),   # spring forward
    ("2026-10-25", "2026-10-24 22:00", "2026-10-25 23:00", 25),   # fall back
    ("2026-10-12", "2026-10-11 22:00", "2026-10-12 22:00", 24),   # summer time
    ("2026-12-08", "2026-12-07 23:00", "2026-12-08 23:00", 24),   # winter time
])
def test_a_holiday_is_the_whole_local_day_however_long_it_is(
        day: str, start_utc: str, end_utc: str, hours: int) -> None:
    holiday = dt.date.fromisoformat(day)
    found = holiday_intervals(POLICY, "ana", wall(f"{day} 00:00") - dt.timedelta(days=1),
                              wall(f"{day} 00:00") + dt.timedelta(days=2))
    assert found == [(utc(start_utc), utc(end_utc))]
    [(start, end)] = found
    assert end - start == dt.timedelta(hours=hours)
    # From local midnight to local midnight.
    assert start.astimezone(MADRID).replace(tzinfo=None) == dt.datetime.combine(
        holiday, dt.time())
    assert end.astimezone(MADRID).replace(tzinfo=None) == dt.datetime.combine(
        holiday + dt.timedelta(days=1), dt.time())


def test_consecutive_holidays_make_one_interval() -> None:
    assert holiday_intervals(POLICY, "ana", wall("2026-12-20 00:00"),
                             wall("2026-12-31 00:00")) == [
        (utc("2026-12-23 23:00"), utc("2026-12-25 23:00"))]


def test_a_whole_month_lists_each_holiday_once_in_order() -> None:
    found = holiday_intervals(POLICY, "ana", wall("2026-10-01 00:00"),
                              wall("2026-11-01 00:00"))
    assert found == [(utc("2026-10-11 22:00"), utc("2026-10-12 22:00")),
                     (utc("2026-10-24 22:00"), utc("2026-10-25 23:00"))]


@pytest.mark.parametrize(("start", "end", "expected"), [
    # A window inside the holiday: the holiday, cut at both ends.
    (wall("2026-03-29 01:30"), wall("2026-03-29 12:00"),
     [("2026-03-29 00:30", "2026-03-29 10:00")]),
    # A window ending at the holiday's first instant (end-exclusive) holds none of it.
    (wall("2026-03-28 12:00"), wall("2026-03-29 00:00"), []),
    # A window starting at the holiday's last midnight holds none of it either.
    (wall("2026-10-26 00:00"), wall("2026-10-27 00:00"), []),
    # Both times the clock shows 02:30 on the fall-back night are inside the holiday (in
    # UTC: a wall time in the repeated hour never equals an instant of another zone).
    (utc("2026-10-25 00:30"), utc("2026-10-25 11:00"),
     [("2026-10-25 00:30", "2026-10-25 11:00")]),
    (utc("2026-10-25 01:30"), utc("2026-10-26 11:00"),
     [("2026-10-25 01:30", "2026-10-25 23:00")]),
])
def test_holiday_intervals_are_clipped_to_the_window(
        start: dt.datetime, end: dt.datetime, expected: list[tuple[str, str]]) -> None:
    assert holiday_intervals(POLICY, "ana", start, end) == [
        (utc(s), utc(e)) for s, e in expected]


def test_a_holiday_follows_the_persons_own_zone() -> None:
    """Cris in Las Palmas has the same days off as Ana in Madrid, each from local midnight:
    an hour apart in instants."""
    window = (wall("2026-12-01 00:00"), wall("2026-12-10 00:00"))
    assert holiday_intervals(POLICY, "cris", *window) == [
        (utc("2026-12-08 00:00"), utc("2026-12-09 00:00"))]
    assert holiday_intervals(POLICY, "ana", *window) == [
        (utc("2026-12-07 23:00"), utc("2026-12-08 23:00"))]


def test_the_example_towns_staff_have_inmaculada_off() -> None:
    town = load_policy(POLICIES).policy
    assert town is not None
    assert holiday_name(town, "ejemplo", dt.date(2026, 12, 8)) == "Inmaculada Concepción"
    for member in town.staff:
        assert holiday_intervals(town, member.id, wall("2026-12-08 09:00"),
                                 wall("2026-12-08 10:00")) == [
            (utc("2026-12-08 08:00"), utc("2026-12-08 09:00"))], member.id
