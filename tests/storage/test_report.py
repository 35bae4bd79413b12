"""The wellbeing report against a week replayed through the live engine, whose figures are
known (tests/data/report-week.jsonl, tests/wellbeing_week.py), on SQLite and PostgreSQL:
every figure of the town, the teams and the people, the night pages with who
acknowledged them and how fast, the storm, and the same figures in the CSV."""

from __future__ import annotations

import csv
import io

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy.model import Policy
from guardian.report.wellbeing import CSV_COLUMNS, csv_text
from guardian.storage.report import wellbeing_report
from tests.wellbeing_week import WEEK, madrid, replay_week

# (kept from quiet hours, sent in quiet hours, night pages, acknowledged, median minutes,
#  shielded, held, storms, on-call weeks in a row, over the limit)
PEOPLE = {
    # Three night lamps waited for Carmen's digest; the unanswered page woke her twice.
    "carmen": (3, 0, 2, 0, None, 0, 0, 0, 0, 0),
    # On call three weeks running (he covered Carmen's week before): paged at night once
    # (acknowledged in 12 minutes) and twice more by the page nobody answered; five
    # messages of the pile-on at him held, the storm counted.
    "antonio": (0, 0, 3, 1, 12.0, 0, 5, 1, 3, 1),
    # The last resort: the unanswered page's third step, twice, then its end.
    "lucia": (0, 0, 3, 0, None, 0, 0, 0, 1, 0),
    # A booking at night waited; an insult with nothing to act on was held.
    "maria": (1, 0, 0, 0, None, 0, 1, 0, 0, 0),
    "jose": (0, 0, 0, 0, None, 1, 0, 0, 0, 0),
    # No quiet hours: paged at 23:30 is night (22:00-07:00), acknowledged in 8 minutes.
    "raquel": (0, 0, 1, 1, 8.0, 0, 0, 0, 0, 0),
    "pablo": (0, 0, 0, 0, None, 0, 0, 0, 1, 0),
    "elena": (0, 0, 0, 0, None, 0, 0, 0, 0, 0),
}
TEAMS = {
    # Its pages that woke someone at night: the acknowledged one and the unanswered one.
    "lighting": (3, 0, 2, 1, 12.0, 0, 5, 1, 3, 1),
    "cleaning": (0, 0, 0, 0, None, 1, 0, 0, 0, 0),
    "rooms": (1, 0, 0, 0, None, 0, 1, 0, 0, 0),
    # The threat was aimed at the police: held from the whole team.
    "police": (0, 0, 1, 1, 8.0, 0, 1, 0, 1, 0),
    "health": (0, 0, 0, 0, None, 0, 0, 0, 0, 0),
    "mayor": (0, 0, 0, 0, None, 0, 0, 0, 1, 0),
}
FIELDS = ("kept_from_quiet_hours", "contacted_in_quiet_hours", "night_pages",
          "night_pages_acknowledged", "minutes_to_acknowledge", "shielded", "held", "storms",
          "on_call_weeks_in_row", "over_on_call_limit")


async def test_the_report_counts_a_replayed_week_exactly(engine: AsyncEngine,
                                                         town: Policy) -> None:
    week = await replay_week(engine, town)
    report, trend = await wellbeing_report(engine, town, week, trend_weeks=3)

    town_row = report.town
    assert tuple(getattr(town_row, f) for f in FIELDS) == (4, 0, 3, 2, 10.0, 1, 7, 1, 3, 1)
    assert (town_row.exposure, town_row.days_at_exposure_limit) == (63, 1)
    for person, figures in PEOPLE.items():
        row = report.person(person)
        assert tuple(getattr(row, f) for f in FIELDS) == figures, person
    for team, figures in TEAMS.items():
        row = report.team(team)
        assert tuple(getattr(row, f) for f in FIELDS) == figures, team
    # On call: Antonio all week (the override covered Monday's first hours too).
    assert report.person("antonio").on_call_hours == 168.0
    assert report.person("carmen").on_call_hours == 0.0
    # Exposure: María's readings of the week (not the Monday after); the others are not
    # moderators.
    maria = report.person("maria")
    assert (maria.exposure, maria.days_at_exposure_limit) == (63, 1)
    assert report.person("antonio").exposure is None

    # The night pages, who was woken when, who acknowledged and how fast.
    pages = [(p.team, [(who, at) for who, at in p.woken], p.acknowledged_by,
              p.minutes_to_acknowledge) for p in report.night_pages]
    assert pages == [
        ("lighting", [("antonio", madrid(25, 3))], "antonio", 12.0),
        ("lighting", [("antonio", madrid(27, 2)), ("carmen", madrid(27, 2, 15)),
                      ("lucia", madrid(27, 2, 30)), ("antonio", madrid(27, 3)),
                      ("carmen", madrid(27, 3, 15)), ("lucia", madrid(27, 3, 30)),
                      ("lucia", madrid(27, 4))], None, None),
        ("police", [("raquel", madrid(28, 23, 30))], "raquel", 8.0)]
    # The page by day (acknowledged at 12:05 on Thursday) is no night page.
    assert all(p.opened_at != madrid(26, 12) for p in report.night_pages)

    [storm] = report.storms
    assert (storm.target, storm.started_at, storm.distinct_authors, storm.abusive_messages,
            storm.held_messages) == ("person:antonio", madrid(26, 11, 1), 3, 3, 3)

    # The weeks before were quiet; the trend ends with this week.
    assert [(r.kept_from_quiet_hours, r.night_pages, r.held) for r in trend] == [
        (0, 0, 0), (0, 0, 0), (4, 3, 7)]

    # The CSV: the same figures, one line each for the town, the teams and the people.
    lines = list(csv.reader(io.StringIO(csv_text(report))))
    assert tuple(lines[0]) == CSV_COLUMNS
    assert len(lines) == 1 + 1 + len(TEAMS) + len(PEOPLE)
    by_id = {(line[1], line[2]): dict(zip(CSV_COLUMNS, line, strict=True)) for line in lines[1:]}
    assert by_id[("town", "town")]["kept_from_quiet_hours"] == "4"
    assert by_id[("town", "town")]["minutes_to_acknowledge"] == "10.0"
    assert by_id[("person", "antonio")]["on_call_weeks_in_row"] == "3"
    assert by_id[("person", "antonio")]["week"] == WEEK.label == "2026-W48"
    assert by_id[("person", "elena")]["exposure"] == ""
