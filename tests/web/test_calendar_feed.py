"""The iCal feeds: the same shift keeps the same UID from one fetch to the next (calendar
apps key events by it), and a person's shifts remind them before they start."""

from __future__ import annotations

import datetime as dt

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.web.calendar import REMINDER, person_calendar, team_calendar
from tests.conftest import example_policy

POLICY = example_policy()
T0 = dt.datetime(2026, 11, 23, 9, 17, tzinfo=dt.UTC)


def _events(body: bytes) -> dict[str, icalendar.cal.Component]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


@settings(max_examples=25, deadline=None)
@given(later=st.integers(min_value=1, max_value=6 * 24 * 60),
       kind=st.sampled_from(["person:carmen", "person:raquel", "team:lighting",
                             "team:police"]))
def test_a_shift_keeps_its_uid_and_times_across_fetches(later: int, kind: str) -> None:
    what, ident = kind.split(":")
    feed = person_calendar if what == "person" else team_calendar
    first = _events(feed(POLICY, ident, T0, []))
    second = _events(feed(POLICY, ident, T0 + dt.timedelta(minutes=later), []))
    shared = first.keys() & second.keys()
    assert shared  # most of two months is in both
    for uid in shared:
        assert first[uid].decoded("dtstart") == second[uid].decoded("dtstart")
        assert first[uid].decoded("dtend") == second[uid].decoded("dtend")
    # An event seen by the first fetch and still in the second's window is the same one.
    window_start = T0 + dt.timedelta(minutes=later) - dt.timedelta(days=7)
    for uid, event in first.items():
        if event.decoded("dtend") > window_start + dt.timedelta(days=1):
            assert uid in second, uid


def test_a_persons_shifts_remind_them_and_a_teams_do_not() -> None:
    mine = _events(person_calendar(POLICY, "carmen", T0, []))
    assert mine
    for event in mine.values():
        [alarm] = event.walk("VALARM")
        assert alarm["action"] == "DISPLAY" and alarm.decoded("trigger") == -REMINDER
    team = _events(team_calendar(POLICY, "lighting", T0, []))
    assert all(not e.walk("VALARM") for e in team.values())
