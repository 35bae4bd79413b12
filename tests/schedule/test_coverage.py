"""The schedule checks HR reads as policy warnings: periods when a team has no one on duty
and no one on call (`team_gaps`, `TeamGaps.hours`), minutes of the week inside both
someone's working and quiet hours (`quiet_overlaps`), and how such minutes are written
(`format_week_minutes`). On the example town and on small invented teams."""

from __future__ import annotations

import datetime as dt

import pytest

from guardian.policy.model import Policy, Rotation, StaffMember, Team, Town
from guardian.policy_files.loader import load_policy
from guardian.schedule.coverage import TeamGaps, format_week_minutes, quiet_overlaps, team_gaps
from guardian.schedule.localtime import zone
from guardian.schedule.overrides import Override
from tests.conftest import POLICIES

DAY = 24 * 60
WEEK = 7 * DAY


def wall(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone("Europe/Madrid"))


def week_minute(text: str) -> int:
    """Minutes of the week of `day HH:MM`, e.g. `tue 06:30`."""
    day, clock = text.split()
    hour, minute = clock.split(":")
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(day) * DAY + int(
        hour) * 60 + int(minute)


@pytest.fixture(scope="module")
def town() -> Policy:
    result = load_policy(POLICIES)
    assert result.policy is not None, [str(p) for p in result.errors]
    return result.policy


def member(person_id: str, **fields: object) -> StaffMember:
    return StaffMember.model_validate({"id": person_id, "name": person_id.title(),
                                       "timezone": "Europe/Madrid", **fields})


# --- how minutes of the week are written -----------------------------------------------

@pytest.mark.parametrize(("start", "end", "text"), [
    (0, 60, "Mon 00:00-Mon 01:00"),
    (week_minute("tue 06:00"), week_minute("tue 07:00"), "Tue 06:00-Tue 07:00"),
    (week_minute("fri 22:30"), week_minute("sat 07:15"), "Fri 22:30-Sat 07:15"),
    (week_minute("sun 23:00"), WEEK, "Sun 23:00-Mon 00:00"),       # the end of the week wraps
    (WEEK + 90, WEEK + 120, "Mon 01:30-Mon 02:00"),
])
def test_minutes_of_the_week_are_written_as_day_and_clock(start: int, end: int,
                                                          text: str) -> None:
    assert format_week_minutes(start, end) == text


# --- working hours inside quiet hours ---------------------------------------------------

def test_the_example_towns_staff_are_never_asked_to_work_in_their_quiet_hours(
        town: Policy) -> None:
    assert {p.id: quiet_overlaps(p) for p in town.staff} == {p.id: [] for p in town.staff}


def test_an_early_start_inside_the_quiet_hours_is_found_every_working_day() -> None:
    early = member("ana", working_hours={"mon-fri": "06:00-15:00"}, quiet_hours="22:00-07:00")
    overlaps = quiet_overlaps(early)
    assert [format_week_minutes(s, e) for s, e in overlaps] == [
        f"{day} 06:00-{day} 07:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri")]


def test_working_hours_that_end_as_quiet_hours_begin_do_not_overlap() -> None:
    assert quiet_overlaps(member("ana", working_hours={"mon-fri": "15:00-22:00"},
                                 quiet_hours="22:00-07:00")) == []
    assert quiet_overlaps(member("ana", working_hours={"mon-fri": "07:00-15:00"},
                                 quiet_hours="22:00-07:00")) == []


def test_no_working_hours_or_no_quiet_hours_means_no_overlap() -> None:
    assert quiet_overlaps(member("ana", quiet_hours="22:00-07:00")) == []
    assert quiet_overlaps(member("ana", working_hours={"mon-fri": "08:00-15:00"})) == []


def test_quiet_hours_all_day_cover_all_working_hours() -> None:
    """11:00-11:00 means always quiet: every working minute is in the quiet hours."""
    always = member("ana", working_hours={"mon": "09:00-14:00", "thu": "16:00-19:00"},
                    quiet_hours="11:00-11:00")
    assert quiet_overlaps(always) == [(week_minute("mon 09:00"), week_minute("mon 14:00")),
                                      (week_minute("thu 16:00"), week_minute("thu 19:00"))]


def test_overlapping_working_windows_are_reported_once() -> None:
    twice = member("ana", working_hours={"wed": ["05:00-09:00", "06:00-08:00"]},
                   quiet_hours="22:00-07:00")
    assert quiet_overlaps(twice) == [(week_minute("wed 05:00"), week_minute("wed 07:00"))]


def test_a_night_shift_into_quiet_hours_that_run_late() -> None:
    """Night work from Friday 22:00 to Saturday 06:00 against quiet hours 23:00-07:00 on
    weekdays only: Friday's quiet hours run into Saturday morning."""
    nights = member("ana", working_hours={"fri": "22:00-06:00"},
                    quiet_hours={"mon-fri": "23:00-07:00"})
    assert quiet_overlaps(nights) == [(week_minute("fri 23:00"), week_minute("sat 06:00"))]
    assert format_week_minutes(*quiet_overlaps(nights)[0]) == "Fri 23:00-Sat 06:00"


def test_a_sunday_night_shift_wraps_into_monday_morning() -> None:
    sunday = member("ana", working_hours={"sun": "22:00-06:00"}, quiet_hours="23:00-07:00")
    overlaps = quiet_overlaps(sunday)
    minutes = {m for s, e in overlaps for m in range(s, e)}
    assert minutes == {*range(week_minute("sun 23:00"), WEEK), *range(0, week_minute("mon 06:00"))}
    assert all(0 <= s < e <= WEEK for s, e in overlaps)


# --- teams with no one ---------------------------------------------------------------------

def test_the_example_town_has_no_gap_in_an_ordinary_week(town: Policy) -> None:
    assert team_gaps(town, wall("2026-11-23 00:00"), wall("2026-11-30 00:00")) == []


def test_office_hours_teams_are_reported_only_when_no_one_works_at_all(town: Policy) -> None:
    """Room bookings and health appointments keep office hours: a night with no one is by
    design, and reported only when the whole window has no one."""
    assert team_gaps(town, wall("2026-11-25 08:00"), wall("2026-11-26 08:00")) == []
    night = (wall("2026-11-25 23:00"), wall("2026-11-26 06:00"))
    assert team_gaps(town, *night) == [TeamGaps("rooms", (night,), False),
                                       TeamGaps("health", (night,), False)]


def test_a_holiday_leaves_the_office_hours_teams_without_anyone(town: Policy) -> None:
    inmaculada = (wall("2026-12-08 00:00"), wall("2026-12-09 00:00"))
    found = team_gaps(town, *inmaculada)
    assert {g.team for g in found} == {"rooms", "health"}
    assert all(g.hours == 24 and not g.covered_always for g in found)


def test_sick_leave_on_a_round_the_clock_team_is_a_gap_in_hours(town: Policy) -> None:
    sick = Override(id=1, kind="remove", person="pablo", start=wall("2026-11-25 00:00"),
                    end=wall("2026-11-26 00:00"), reason="sick leave")
    found = team_gaps(town, wall("2026-11-24 00:00"), wall("2026-11-27 00:00"), [sick])
    assert found == [TeamGaps("police", ((wall("2026-11-25 08:00"), wall("2026-11-26 00:00")),),
                              True)]
    assert found[0].hours == 16.0


CALL = Rotation.model_validate({
    "id": "parks-on-call", "name": "Parks on call", "timezone": "Europe/Madrid",
    "layers": [{"members": ["ana", "beto"], "shift": "weekly", "hand_off": "08:00",
                "start": "2026-01-05", "restrictions": {"daily": "08:00-22:00"}}]})


def parks(**team: object) -> Policy:
    """A parks team: Ana and Beto work mornings, and are on call 08:00-22:00 only."""
    return Policy(
        town=Town(name="Villa de Ejemplo", timezone="Europe/Madrid", languages=["es"]),
        staff=(member("ana", working_hours={"mon-fri": "08:00-15:00"}),
               member("beto", working_hours={"mon-fri": "08:00-15:00"})),
        teams=(Team.model_validate({"id": "parks", "name": "Parks", "members": ["ana", "beto"],
                                    **team}),),
        categories=(), rotations=(CALL,))


def test_a_team_on_call_only_by_day_has_a_gap_every_night() -> None:
    found = team_gaps(parks(on_call="parks-on-call"), wall("2026-11-23 00:00"),
                      wall("2026-11-25 00:00"))
    assert found == [TeamGaps("parks", (
        (wall("2026-11-23 00:00"), wall("2026-11-23 08:00")),
        (wall("2026-11-23 22:00"), wall("2026-11-24 08:00")),
        (wall("2026-11-24 22:00"), wall("2026-11-25 00:00"))), True)]
    assert found[0].hours == 8 + 10 + 2


def test_the_night_gap_is_an_hour_longer_when_the_clocks_go_back() -> None:
    """Saturday 24 to Sunday 25 October 2026: 22:00 to 08:00 lasts 11 hours."""
    found = team_gaps(parks(on_call="parks-on-call"), wall("2026-10-24 12:00"),
                      wall("2026-10-25 12:00"))
    assert [g.hours for g in found] == [11.0]


def test_someone_added_for_the_night_closes_the_gap() -> None:
    carla = Override(id=3, kind="add", person="carla", start=wall("2026-11-23 22:00"),
                     end=wall("2026-11-24 08:00"), reason="night cover", team="parks",
                     applies_to="on_call")
    found = team_gaps(parks(on_call="parks-on-call"), wall("2026-11-23 12:00"),
                      wall("2026-11-24 12:00"), [carla])
    assert found == []


def test_a_day_only_duty_rotation_without_on_call_leaves_the_nights_open() -> None:
    found = team_gaps(parks(duty="parks-on-call"), wall("2026-11-23 12:00"),
                      wall("2026-11-24 12:00"))
    assert found == [TeamGaps("parks", ((wall("2026-11-23 22:00"), wall("2026-11-24 08:00")),),
                              True)]


def test_a_team_keeping_office_hours_is_not_reported_for_its_nights() -> None:
    office = parks()
    assert team_gaps(office, wall("2026-11-23 00:00"), wall("2026-11-30 00:00")) == []
    weekend = (wall("2026-11-28 00:00"), wall("2026-11-30 00:00"))
    [gaps] = team_gaps(office, *weekend)
    assert gaps == TeamGaps("parks", (weekend,), False) and gaps.hours == 48
