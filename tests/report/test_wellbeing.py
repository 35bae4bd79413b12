"""The wellbeing report's counting, on rows made here: weeks on the town's clock, what is
kept from quiet hours and what is not, night for people with and without quiet hours,
held winning over shielded, storms, acknowledgements, exposure, on-call weeks in a row,
and the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardian.decide.decision import Decision, Outcome, StormInfo
from guardian.report.wellbeing import (
    Contact,
    DecisionRow,
    ExposureRow,
    PageEventRow,
    PageRow,
    ReportRows,
    WeekError,
    at_night,
    build,
    csv_text,
    last_complete_week,
    parse_week,
    person_of,
    shift,
    trend,
    week_at,
)
from guardian.schedule.overrides import Override
from tests.conftest import example_policy

pytestmark = pytest.mark.pure

TOWN = example_policy()
MADRID = ZoneInfo("Europe/Madrid")
W48 = parse_week("2026-W48", MADRID)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=MADRID).astimezone(dt.UTC)


def contact(n: int, person: str, asked: dt.datetime, status: str = "digested",
            sent: dt.datetime | None = None, kind: str = "deliver", **more: object) -> Contact:
    return Contact(id=n, recipient=person, kind=kind, status=status, asked_at=asked,
                   sent_at=sent, **more)  # type: ignore[arg-type]


def outcome(kind: str, code: str, audience: str, content: str, *people: str) -> Outcome:
    return Outcome(kind=kind, recipients=people, audience=audience,  # type: ignore[arg-type]
                   channel="preferred", at=None, content=content,  # type: ignore[arg-type]
                   urgency="normal", code=code, reasons=())


def decision(when: dt.datetime, target: str, *outcomes: Outcome,
             storm: StormInfo | None = None) -> Decision:
    return Decision(decided_at=when, source="twitter", external_id="x", author="twitter:a",
                    level="abusive", category="street_lighting", team="lighting",
                    target=target, mentioned=(), urgency="normal", fingerprint="f",
                    storm=storm, outcomes=outcomes, reasons=())


# --- weeks --------------------------------------------------------------------------------

def test_weeks_run_monday_to_monday_on_the_towns_clock() -> None:
    assert (W48.start, W48.end) == (at(23, 0), at(30, 0))
    assert W48.label == "2026-W48" and W48.days[0] == dt.date(2026, 11, 23)
    # Across the autumn clock change the week is an hour longer.
    autumn = parse_week("2026-W43", MADRID)
    assert autumn.end - autumn.start == dt.timedelta(hours=169)
    # A Sunday night in Madrid is still that week, though Monday in UTC.
    assert week_at(dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC), MADRID).label == "2026-W49"
    assert week_at(dt.datetime(2026, 11, 29, 22, 30, tzinfo=dt.UTC), MADRID).label == "2026-W48"
    # The last complete week, and moving on.
    assert last_complete_week(at(6, 18, month=12), MADRID) == W48
    assert shift(W48, 1, MADRID).label == "2026-W49"
    assert shift(parse_week("2026-W53", MADRID), 1, MADRID).label == "2027-W01"


@pytest.mark.parametrize(("text", "says"), [
    ("2026-49", "not an ISO week"), ("2026-W4", "not an ISO week"), ("W49", "not an ISO week"),
    ("2025-W53", "2025 has no week 53"), ("2026-W00", "has no week 0"),
    ("1900-W01", "outside the years"), ("", "not an ISO"),
    ("\uff12\uff10\uff12\uff16-W01", "not an ISO week")])  # full-width digits
def test_a_bad_week_is_named_in_a_sentence(text: str, says: str) -> None:
    with pytest.raises(WeekError, match=says):
        parse_week(text, MADRID)


# --- contacts -----------------------------------------------------------------------------

def test_what_is_kept_from_quiet_hours_and_what_is_not() -> None:
    rows = ReportRows(contacts=(
        # Carmen's quiet hours are 21:30-07:00.
        contact(1, "carmen", at(24, 23)),                             # digested: kept
        contact(2, "carmen", at(24, 23), "sent", sent=at(25, 7, 30)),  # sent after: kept
        contact(3, "carmen", at(24, 23), "pending"),                   # still waiting: kept
        contact(4, "carmen", at(24, 19)),                # off duty, not quiet: not kept
        contact(5, "carmen", at(24, 23), "sent", sent=at(24, 23, 5)),  # sent in quiet
        contact(6, "carmen", at(24, 23), "cancelled"),  # never sent: not kept
        contact(7, "carmen", at(24, 23), kind="page"),  # pages are counted apart
        contact(8, "carmen", at(30, 23)),                 # next week
        contact(9, "carmen", at(22, 23), "sent", sent=at(23, 0, 10)),  # sent in this week
        contact(10, "nadie", at(24, 23))))             # not in the policy: no quiet hours
    report = build(TOWN, W48, rows, on_call=False)
    carmen = report.person("carmen")
    assert (carmen.kept_from_quiet_hours, carmen.contacted_in_quiet_hours) == (3, 2)
    assert report.team("lighting").kept_from_quiet_hours == 3
    assert report.town.contacted_in_quiet_hours == 2
    assert "nadie" not in [r.id for r in report.people]


# --- pages --------------------------------------------------------------------------------

def test_night_is_quiet_hours_or_ten_to_seven_for_those_without() -> None:
    assert at_night(TOWN, "carmen", at(24, 21, 45)) and not at_night(TOWN, "antonio",
                                                                    at(24, 21, 45))
    # Raquel (police) has no quiet hours: 22:00-07:00 on her clock.
    assert [at_night(TOWN, "raquel", at(24, h)) for h in (21, 22, 6, 7)] == [
        False, True, True, False]
    assert at_night(TOWN, "nadie", at(24, 23))  # unknown: the town's clock


def test_night_pages_who_was_woken_and_who_acknowledged() -> None:
    def events(*items: tuple[str, str | None, dt.datetime]) -> tuple[PageEventRow, ...]:
        return tuple(PageEventRow(k, p, t) for k, p, t in items)

    rows = ReportRows(pages=(
        PageRow(1, "lighting", at(25, 3), "link:carmen", at(25, 3, 20), events(
            ("paged", "antonio", at(25, 3)), ("escalated", "carmen", at(25, 3, 15)),
            ("acknowledged", None, at(25, 3, 20)))),
        PageRow(2, "lighting", at(25, 12), "staff:antonio", at(25, 12, 4), events(
            ("paged", "antonio", at(25, 12)))),                       # by day
        PageRow(3, "police", at(28, 23), "simulate", at(28, 23, 30), events(
            ("paged", "raquel", at(28, 23)))),
        PageRow(4, "police", at(29, 23, 50), None, None, events(       # Sunday night:
            ("paged", "pablo", at(29, 23, 50)),                       # this week
            ("escalated", "raquel", at(30, 0, 5))))))                 # the next
    report = build(TOWN, W48, rows, on_call=False)
    assert [(p.page_id, [w for w, _ in p.woken], p.acknowledged_by, p.minutes_to_acknowledge)
            for p in report.night_pages] == [(1, ["antonio", "carmen"], "carmen", 20.0),
                                             (3, ["raquel"], "simulate", 30.0),
                                             (4, ["pablo"], None, None)]
    carmen, antonio = report.person("carmen"), report.person("antonio")
    assert (carmen.night_pages, carmen.night_pages_acknowledged,
            carmen.minutes_to_acknowledge) == (1, 1, 20.0)
    # Antonio's acknowledgement by day is not a night page's.
    assert (antonio.night_pages, antonio.night_pages_acknowledged) == (1, 0)
    assert report.person("raquel").night_pages == 1
    police = report.team("police")
    assert (police.night_pages, police.night_pages_acknowledged,
            police.minutes_to_acknowledge) == (2, 1, 30.0)
    assert (report.town.night_pages, report.town.minutes_to_acknowledge) == (3, 25.0)
    assert person_of("reply:raquel", TOWN) == "raquel" and person_of("hr:ops", TOWN) is None


# --- abuse --------------------------------------------------------------------------------

def test_shielded_held_and_storms() -> None:
    storm = StormInfo("person:antonio", 3, 3, 10, at(26, 11), first=True)
    rows = ReportRows(decisions=(
        # Masked to Carmen; the original to the moderators.
        DecisionRow(1, decision(at(26, 10), "team:lighting",
                                outcome("shield", "abusive", "moderators", "original", "maria"),
                                outcome("shield", "on_duty", "staff", "masked", "carmen"))),
        # Aimed at Antonio with nothing to act on: held.
        DecisionRow(2, decision(at(26, 10, 30), "person:antonio",
                                outcome("shield", "abusive_no_request", "moderators",
                                        "original", "maria"))),
        # The storm starts: held; a second message of it.
        DecisionRow(3, decision(at(26, 11), "person:antonio",
                                outcome("shield", "storm", "moderators", "original"),
                                storm=storm)),
        DecisionRow(4, decision(at(26, 11, 5), "person:antonio",
                                outcome("shield", "storm", "moderators", "original"),
                                storm=StormInfo("person:antonio", 4, 4, 10, at(26, 11),
                                                first=False))),
        # A threat at the police team, its emergency paged to Raquel masked.
        DecisionRow(5, decision(at(26, 13), "team:police",
                                outcome("hold_for_review", "threat", "moderators",
                                        "original", "maria"),
                                outcome("page", "page", "staff", "masked", "raquel"))),
        # A rude message routed masked is no shield.
        DecisionRow(6, decision(at(26, 14), "team:lighting",
                                outcome("deliver_now", "on_duty", "staff", "masked",
                                        "carmen"))),
        DecisionRow(7, decision(at(30, 10), "person:antonio",          # next week
                                outcome("shield", "abusive_no_request", "moderators",
                                        "original")))),
        # Carmen's notification of message 1 was held back when a storm started.
        contacts=(contact(9, "carmen", at(26, 10), "cancelled", message_id=1,
                          held_by_storm=True),))
    report = build(TOWN, W48, rows, on_call=False)
    assert [(r.id, r.shielded, r.held, r.storms) for r in report.people
            if r.shielded or r.held or r.storms] == [
        ("antonio", 0, 3, 1), ("carmen", 0, 1, 0), ("raquel", 1, 0, 0)]
    assert (report.team("lighting").held, report.team("lighting").storms) == (4, 1)
    # Held from the police (its target) wins over Raquel's masked page for the team.
    assert (report.team("police").held, report.team("police").shielded) == (1, 0)
    assert (report.town.shielded, report.town.held, report.town.storms) == (0, 5, 1)
    [started] = report.storms
    assert (started.target, started.started_at, started.held_messages) == (
        "person:antonio", at(26, 11), 2)


# --- exposure and on call -----------------------------------------------------------------

def test_exposure_per_moderator_and_days_at_the_limit() -> None:
    limit = TOWN.exposure_limits.max_abusive_items_per_day
    rows = ReportRows(exposure=(
        ExposureRow("moderator:maria", dt.date(2026, 11, 23), limit),
        ExposureRow("moderator:maria", dt.date(2026, 11, 29), 2),
        ExposureRow("moderator:maria", dt.date(2026, 11, 30), 9),   # the next week
        ExposureRow("admin:ops", dt.date(2026, 11, 24), 1)))
    report = build(TOWN, W48, rows, on_call=False)
    maria = report.person("maria")
    assert (maria.exposure, maria.days_at_exposure_limit) == (limit + 2, 1)
    assert report.person("admin:ops").exposure == 1    # whoever read counts
    assert report.person("elena").exposure is None     # not a moderator
    assert (report.town.exposure, report.town.days_at_exposure_limit) == (limit + 3, 1)


def test_on_call_weeks_in_a_row_with_the_overrides_in_force() -> None:
    plain = build(TOWN, W48, ReportRows())
    antonio = plain.person("antonio")
    assert (antonio.on_call_hours, antonio.on_call_weeks_in_row) == (160.0, 1)
    # Antonio takes Carmen's week before: three weeks running, over the limit of two.
    cover = Override(id=1, kind="replace", person="antonio", replaces="carmen",
                     start=at(16, 8), end=at(23, 8), reason="cover", team="lighting")
    report = build(TOWN, W48, ReportRows(overrides=(cover,)))
    antonio = report.person("antonio")
    assert (antonio.on_call_weeks_in_row, antonio.over_on_call_limit) == (3, 1)
    assert (report.team("lighting").over_on_call_limit, report.town.over_on_call_limit) == (1, 1)
    # The trend leaves on call out.
    assert trend(TOWN, [W48], ReportRows(overrides=(cover,)))[0].on_call_weeks_in_row == 0


# --- the CSV --------------------------------------------------------------------------------

def test_the_csv_has_a_line_per_row_and_no_formulas() -> None:
    data = TOWN.model_dump(mode="json")
    data["staff"][0]["name"] = "=HYPERLINK(\"x\")"
    policy = type(TOWN).model_validate(data)
    report = build(policy, W48, ReportRows(), on_call=False)
    lines = list(csv.reader(io.StringIO(csv_text(report))))
    assert lines[0][:4] == ["week", "scope", "id", "name"]
    assert [line[1] for line in lines[1:]] == (
        ["town"] + ["team"] * len(TOWN.teams) + ["person"] * len(TOWN.staff))
    assert lines[1 + 1 + len(TOWN.teams)][3] == "'=HYPERLINK(\"x\")"
    assert csv_text(report).endswith("\r\n")


# Weeks on a town's clock, whatever the instant and the zone: contiguous, 167 to 169 hours
# (a daylight-saving change), found again from their label.
_ZONES = st.sampled_from([ZoneInfo(z) for z in
                          ("Europe/Madrid", "Atlantic/Canary", "America/Santiago",
                           "Australia/Lord_Howe", "UTC")])


@given(st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2098, 12, 1),
                    timezones=st.just(dt.UTC)), _ZONES)
def test_every_instant_is_in_exactly_one_week(at: dt.datetime, tz: ZoneInfo) -> None:
    week = last_complete_week(at, tz)
    following = shift(week, 1, tz)
    assert following.contains(at) and not week.contains(at)
    assert week.end == following.start  # no hour falls between two weeks
    assert dt.timedelta(hours=167) <= week.end - week.start <= dt.timedelta(hours=169)
    assert parse_week(week.label, tz) == week
    assert week.start.astimezone(tz).weekday() == 0
