"""National and regional days from the `holidays` package in holiday calendars (`country`,
`subdivision`): added to the days written in the policy and to included calendars, named
in the town's language, sourced for HR's page; an unknown country or region is an error
with its file and line. Dates checked against Spain's and Andalucía's official calendars
for 2026 (BOE, BOJA): 28 February is Día de Andalucía, a regional day; 8 December is
national; 7 December 2026 is Andalucía's Monday after the Constitution day (a Sunday)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from guardian.policy.model import HolidayCalendar, Policy, StaffMember, Town
from guardian.policy.public_holidays import YEARS, names_language, package_days
from guardian.policy_files.loader import load_policy
from guardian.schedule.holidays import (
    HolidayDay,
    calendar_days,
    followers,
    holiday_name,
    holidays_of,
    own_calendar_holidays,
)

pytestmark = pytest.mark.pure

ANDALUCIA_DAY = dt.date(2026, 2, 28)
INMACULADA = dt.date(2026, 12, 8)
LOCAL_DAY = dt.date(2026, 9, 14)  # invented


def calendar(calendar_id: str, **fields: object) -> HolidayCalendar:
    return HolidayCalendar.model_validate({"id": calendar_id, "name": calendar_id.title(),
                                           **fields})


def town_policy(*calendars: HolidayCalendar, languages: tuple[str, ...] = ("es", "en"),
                town_calendar: str | None = "local", **people: str | None) -> Policy:
    return Policy(
        town=Town(name="Villa de Ejemplo", timezone="Europe/Madrid",
                  languages=list(languages), holidays=town_calendar),
        staff=tuple(StaffMember.model_validate({"id": p, "name": p.title(),
                                                "timezone": "Europe/Madrid",
                                                "holidays": cal})
                    for p, cal in (people or {"ana": None}).items()),
        teams=(), categories=(), holiday_calendars=calendars)


SPAIN = calendar("spain", country="ES")
ANDALUCIA = calendar("andalucia", country="ES", subdivision="AN")
LOCAL = calendar("local", include=["andalucia"],
                 days=[{"date": LOCAL_DAY.isoformat(), "name": "Feria (invented)"}])


def test_a_regional_day_needs_the_region() -> None:
    policy = town_policy(SPAIN, ANDALUCIA, LOCAL)
    dates = policy.holiday_dates
    assert ANDALUCIA_DAY in dates["andalucia"] and INMACULADA in dates["andalucia"]
    assert ANDALUCIA_DAY not in dates["spain"] and INMACULADA in dates["spain"]
    # The region's Monday after a Sunday holiday is the region's, not the country's.
    assert dt.date(2026, 12, 7) in dates["andalucia"]
    assert dt.date(2026, 12, 7) not in dates["spain"]


def test_local_days_and_included_calendars_add_up() -> None:
    policy = town_policy(SPAIN, ANDALUCIA, LOCAL)
    days = policy.holiday_dates["local"]
    assert {LOCAL_DAY, ANDALUCIA_DAY, INMACULADA} <= days
    assert days == policy.holiday_dates["andalucia"] | {LOCAL_DAY}
    assert holidays_of(policy, "ana") == days
    # Every year of the span, none outside it (but the days written by hand).
    assert {d.year for d in days} == set(YEARS)


def test_names_come_in_the_towns_first_language_the_package_has() -> None:
    assert names_language("ES", ["es", "en"]) == "es"
    assert names_language("ES", ["en", "es"]) == "en_US"  # `en` as the package spells it
    assert names_language("ES", ["eu"]) == "es"           # Basque: the package's default
    spanish = town_policy(SPAIN, ANDALUCIA, LOCAL)
    assert holiday_name(spanish, "local", ANDALUCIA_DAY) == "Día de Andalucía"
    assert holiday_name(spanish, "local", INMACULADA) == "Inmaculada Concepción"
    assert holiday_name(spanish, "local", LOCAL_DAY) == "Feria (invented)"
    assert holiday_name(spanish, "local", dt.date(2026, 3, 3)) is None
    english = town_policy(SPAIN, ANDALUCIA, LOCAL, languages=("en",))
    assert holiday_name(english, "local", ANDALUCIA_DAY) == "Andalusia Day"
    # Never the machine's locale (the package's own choice without a language).
    basque = town_policy(SPAIN, ANDALUCIA, LOCAL, languages=("eu",))
    assert holiday_name(basque, "local", ANDALUCIA_DAY) == "Día de Andalucía"


def test_a_day_written_in_the_policy_names_itself_before_the_package() -> None:
    renamed = calendar("andalucia", country="ES", subdivision="AN",
                       days=[{"date": "2026-02-28", "name": "28F"}])
    policy = town_policy(renamed, town_calendar="andalucia")
    assert holiday_name(policy, "andalucia", ANDALUCIA_DAY) == "28F"
    [day] = calendar_days(policy, "andalucia", ANDALUCIA_DAY, ANDALUCIA_DAY)
    assert day == HolidayDay(ANDALUCIA_DAY, "28F", "local", "andalucia")


def test_each_day_says_where_it_comes_from() -> None:
    policy = town_policy(SPAIN, ANDALUCIA, LOCAL)
    year = {d.date: d for d in calendar_days(policy, "local", dt.date(2026, 1, 1),
                                              dt.date(2026, 12, 31))}
    assert year[LOCAL_DAY] == HolidayDay(LOCAL_DAY, "Feria (invented)", "local", "local")
    assert year[ANDALUCIA_DAY] == HolidayDay(ANDALUCIA_DAY, "Día de Andalucía", "regional",
                                             "andalucia")
    assert year[INMACULADA].origin == "national" and year[INMACULADA].calendar == "andalucia"
    assert list(year) == sorted(year) and all(d.year == 2026 for d in year)
    assert len(year) == len(package_days("ES", "AN", "es").keys() & year.keys()) + 1


def test_who_follows_a_calendar_and_whose_own_holiday_a_day_is() -> None:
    policy = town_policy(SPAIN, ANDALUCIA, LOCAL, ana=None, beto="spain", cris="andalucia")
    assert followers(policy, "local") == ([], ["ana"])
    assert followers(policy, "spain") == (["beto"], [])
    # 14 September is the town's (local) day: Beto and Cris, on their own calendars, work.
    assert own_calendar_holidays(policy, ["ana", "beto", "cris"], LOCAL_DAY) == []
    assert own_calendar_holidays(policy, ["ana", "beto", "cris", "cris"], ANDALUCIA_DAY) == [
        ("cris", "Día de Andalucía")]
    assert own_calendar_holidays(policy, ["ana", "beto", "cris"], INMACULADA) == [
        ("beto", "Inmaculada Concepción"), ("cris", "Inmaculada Concepción")]


@pytest.mark.parametrize(("fields", "words"), [
    ({"country": "XX"}, "unknown country 'XX'"),
    ({"country": "es"}, "did you mean ES?"),
    ({"country": False}, "in quotes"),  # YAML's reading of an unquoted NO (Norway)
    ({"country": "ES", "subdivision": "ZZ"}, "unknown subdivision 'ZZ' of ES"),
    ({"subdivision": "AN"}, "needs the `country`"),
])
def test_an_unknown_country_or_region_is_refused(fields: dict[str, object], words: str
                                                 ) -> None:
    with pytest.raises(ValidationError, match=words):
        calendar("bad", **fields)


def test_the_loader_names_the_file_and_line_of_an_unknown_country(tmp_path: Path) -> None:
    (tmp_path / "town.yaml").write_text(
        "town: {name: Test, timezone: Europe/Madrid, languages: [es], holidays: here}\n"
        "staff:\n  - {id: ana, name: Ana, timezone: Europe/Madrid}\n", encoding="utf-8")
    (tmp_path / "holidays.yaml").write_text(
        "holiday_calendars:\n"
        "  - id: here\n"
        "    name: Here\n"
        "    country: XX\n"            # line 4
        "  - id: there\n"
        "    name: There\n"
        "    country: ES\n"
        "    subdivision: ZZ\n",       # line 8
        encoding="utf-8")
    result = load_policy(tmp_path)
    assert result.policy is None
    errors = [str(p) for p in result.errors]
    assert any(e.startswith(f"{tmp_path}/holidays.yaml:4: error:")
               and "unknown country 'XX'" in e for e in errors), errors
    assert any(e.startswith(f"{tmp_path}/holidays.yaml:8: error:")
               and "unknown subdivision 'ZZ' of ES" in e and "AN" in e for e in errors), errors
    # The town's calendar failed on its own: it is not also reported as undefined.
    assert len(errors) == 2, errors
