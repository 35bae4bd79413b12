"""Consecutive on-call weeks: a rotation that keeps one person on call week after week is
named; alternating weeks, daily 24-hour shifts between two, and a weekend layer are not."""

from __future__ import annotations

import datetime as dt
from typing import Any

from guardian.policy.model import Policy
from guardian.schedule.fairness import long_runs, on_call_hours
from guardian.schedule.overrides import Override
from tests.conftest import example_policy

TOWN = example_policy()
NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)  # a Monday


def _lighting(members: list[str], shift: str = "weekly") -> Policy:
    data: dict[str, Any] = TOWN.model_dump(mode="json")
    rotation = next(r for r in data["rotations"] if r["id"] == "lighting-on-call")
    rotation["layers"][0]["members"] = members
    rotation["layers"][0]["shift"] = shift
    return Policy.model_validate(data)


def test_the_example_town_shares_its_on_call_weeks() -> None:
    assert long_runs(TOWN, NOW, 12, TOWN.on_call_limits.max_consecutive_weeks) == []


def test_one_person_on_call_every_week_is_named_with_the_run() -> None:
    alone = _lighting(["antonio"])
    [run] = long_runs(alone, NOW, 6, 2)
    assert (run.person, run.weeks) == ("antonio", 6)
    assert "antonio is on call 6 weeks in a row" in run.sentence(alone, 2)
    assert long_runs(alone, NOW, 6, 6) == []


def test_daily_shifts_between_two_are_never_on_call_weeks_in_a_row() -> None:
    # Seven days between two, hand-offs at 08:00: 88 and 80 hours in turn, so never two
    # on-call weeks running.
    daily = _lighting(["antonio", "carmen"], "daily")
    hours = on_call_hours(daily, NOW, 4)
    assert [h // dt.timedelta(hours=1) for h in hours["antonio"]] == [88, 80, 88, 80]
    assert long_runs(daily, NOW, 8, 1) == []
    # No one is counted twice for being on call for several teams at once.
    assert all(h <= dt.timedelta(days=7) for row in hours.values() for h in row)


def test_an_override_that_stacks_someone_is_caught() -> None:
    # Carmen takes Antonio's on-call week: with her own week either side, three in a row.
    weeks = on_call_hours(TOWN, NOW, 4)
    mine = [n for n, h in enumerate(weeks["carmen"]) if h > dt.timedelta(hours=84)]
    gap = next(n for n in range(1, 3) if n not in mine)
    start = dt.datetime(2026, 11, 23, 7, tzinfo=dt.UTC) + dt.timedelta(weeks=gap)
    swap = Override(id=1, kind="replace", person="carmen", replaces="antonio",
                    team="lighting", start=start, end=start + dt.timedelta(weeks=1),
                    applies_to="on_call")
    assert long_runs(TOWN, NOW, 4, 2) == []
    [run] = long_runs(TOWN, NOW, 4, 2, (swap,))
    assert run.person == "carmen" and run.weeks == 3
