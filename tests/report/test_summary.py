"""The weekly summary's payload and timing: the town's figures of a closed week, due the
Monday after at 08:00 on the town's clock, one key per person and week."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from guardian.notify.render import render
from guardian.report.summary import due, summary_key, summary_payload
from guardian.report.wellbeing import PageEventRow, PageRow, ReportRows, build, parse_week
from tests.conftest import example_policy

pytestmark = pytest.mark.pure

TOWN = example_policy()
MADRID = ZoneInfo("Europe/Madrid")


def test_the_summary_of_a_week_is_due_the_monday_after_at_eight() -> None:
    week = parse_week("2026-W48", MADRID)
    assert due(week, MADRID) == dt.datetime(2026, 11, 30, 8, tzinfo=MADRID)
    # After the spring clock change, still 08:00 on the town's clock.
    assert due(parse_week("2026-W13", MADRID), MADRID) == dt.datetime(2026, 3, 30, 8,
                                                                       tzinfo=MADRID)
    assert summary_key(week, "lucia") == "report:2026-W48:lucia"


def test_the_payload_says_the_weeks_figures_and_links_to_the_report() -> None:
    week = parse_week("2026-W48", MADRID)
    night = dt.datetime(2026, 11, 25, 3, tzinfo=MADRID)
    rows = ReportRows(pages=(PageRow(1, "lighting", night, "link:antonio",
                                     night + dt.timedelta(minutes=5),
                                     (PageEventRow("paged", "antonio", night),)),))
    payload = summary_payload(build(TOWN, week, rows), "https://guardian.town.test")
    assert payload["week"] == "2026-W48" and payload["number"] == 48
    assert (payload["from"], payload["until"]) == ("23/11", "29/11/2026")
    assert (payload["night_pages"], payload["night_acked"], payload["kept"]) == (1, 1, 0)
    assert payload["link"] == "https://guardian.town.test/report?week=2026-W48"
    spanish = render("report", "es", payload).body
    assert "Avisos urgentes de noche: 1 (1 confirmados)" in spanish
    assert "https://guardian.town.test/report?week=2026-W48" in spanish
    assert "Enviados en horas de descanso" not in spanish  # none: not said
