"""HR's holidays and policy pages over HTTP, and what the schedule adds: each calendar's
days of a year with where each comes from (the `holidays` package's national or regional
days, a local day of the policy, an included calendar) and who follows it; a person's own
calendar marked on the schedule; on-call weeks in a row per person, with the overrides in
force, and a run over the policy's limit in the check's words; the policy in force with the
errors of files that did not load, by file and line, and nothing of the admin's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.storage.overrides import create_override
from guardian.types import OverrideStatus
from guardian.web.keys import policy_key
from tests.conftest import Client, with_settings
from tests.ui.conftest import sign_in_as

MADRID = ZoneInfo("Europe/Madrid")
CARMEN = '    quiet_hours: "21:30-07:00"\n'


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The example town where Carmen, an electrician, follows the calendar of the Comunidad
    de Madrid (national and regional days from the package) instead of the town's."""
    staff = settings.policies_dir / "staff.yaml"
    text = staff.read_text(encoding="utf-8")
    assert text.count(CARMEN) == 1
    staff.write_text(text.replace(CARMEN, CARMEN + "    holidays: es-madrid\n"),
                     encoding="utf-8")
    return with_settings(settings, policies_dir=settings.policies_dir)


def _section(html: str, marker: str) -> str:
    return html.split(marker)[1].split("</section>")[0]


def _row(html: str, date: str) -> str:
    """The table row of a date (dd/mm/yyyy) on the holidays page."""
    return html.split(f">{date}</time>")[1].split("</tr>")[0]


async def test_each_calendar_lists_its_days_with_their_source(client: Client,
                                                               engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "lucia")
    response = await client.get("/hr/holidays?year=2026")
    assert response.status == 200
    html = await response.text()
    town = _section(html, 'id="calendar-ejemplo"')
    assert "El calendario del municipio" in town and "Antonio Molina" in town
    assert "Carmen Ruiz" not in town  # she follows her own
    feria = _row(town, "14/09/2026")
    assert "Lunes" in feria and "Feria de septiembre (invented)" in feria
    assert "Escrito en la política" in feria
    inmaculada = _row(town, "08/12/2026")
    assert "Inmaculada Concepción" in inmaculada
    assert "por el calendario incluido Fiestas nacionales (Spain)" in inmaculada
    madrid = _section(html, 'id="calendar-es-madrid"')
    assert "País ES, región MD" in madrid
    assert "Como calendario propio: Carmen Ruiz" in madrid
    fiesta = _row(madrid, "02/05/2026")
    assert "Sábado" in fiesta and "Fiesta de la Comunidad de Madrid" in fiesta
    assert "Autonómico (ES-MD), del paquete holidays" in fiesta
    assert "Nacional (ES), del paquete holidays" in _row(madrid, "08/12/2026")
    assert "Festivos en 2026: 12" in madrid
    # Another year: the package's days follow; past its span, a note says so.
    later = await (await client.get("/hr/holidays?year=2031")).text()
    assert "Fiesta de la Comunidad de Madrid" in _section(later, 'id="calendar-es-madrid"')
    # The town's calendar is written by hand for 2026 and 2027 only.
    assert "Ningún festivo en 2031." in _section(later, 'id="calendar-ejemplo"')
    beyond = await (await client.get("/hr/holidays?year=2045")).text()
    assert "se calculan de 2020 a 2040" in beyond
    # This year on the town's clock by default.
    this_year = dt.datetime.now(MADRID).year
    default = await (await client.get("/hr/holidays")).text()
    assert f'name="year" type="number" min="2000" max="2100" value="{this_year}"' in default


@pytest.mark.parametrize("year", ["1999", "veinte", "20266", "2101"])
async def test_a_bad_year_is_a_sentence(client: Client, engine: AsyncEngine, year: str
                                        ) -> None:
    await sign_in_as(client, engine, "lucia")
    response = await client.get(f"/hr/holidays?year={year}")
    assert response.status == 422
    assert "Indica un año de 2000 a 2100" in await response.text()


async def test_the_schedule_marks_a_persons_own_calendar(client: Client,
                                                         engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "lucia")
    html = await (await client.get("/hr/schedule?team=lighting&from=2026-12-07&weeks=1")
                  ).text()
    lighting = _section(html, 'id="team-lighting"')
    monday = lighting.split("Lunes 07/12")[1].split("</tr>")[0]
    # Madrid's Monday after the Constitution day: Carmen's holiday, not the town's.
    assert ("Carmen Ruiz: festivo (Lunes siguiente a Día de la Constitución Española)"
            in monday)
    assert "Festivo:" not in monday and "Antonio Molina: festivo" not in lighting
    tuesday = lighting.split("Martes 08/12")[1].split("</tr>")[0]
    assert "Festivo: Inmaculada Concepción" in tuesday
    assert "Carmen Ruiz: festivo (Inmaculada Concepción)" in tuesday
    # The town's local day is not hers.
    september = await (await client.get(
        "/hr/schedule?team=lighting&from=2026-09-14&weeks=1")).text()
    assert "Festivo: Feria de septiembre (invented)" in september
    assert "Carmen Ruiz: festivo" not in september


async def test_on_call_weeks_in_a_row_with_the_overrides_in_force(
        client: Client, engine: AsyncEngine) -> None:
    """Antonio and Carmen take the street lighting's on-call week in turns (the week of
    7 December 2026 is Antonio's); an override gives Antonio Carmen's week too: three in a
    row, over the example's limit of two."""
    await sign_in_as(client, engine, "lucia")
    shown = "/hr/schedule?team=lighting&from=2026-12-07&weeks=3"

    def antonio(html: str) -> str:
        table = html.split('id="on-call-table"')[1].split("</table>")[0]
        return table.split("Antonio Molina</th>")[1].split("</tr>")[0]

    before = await (await client.get(shown)).text()
    assert "07/12, 21/12" in antonio(before) and 'class="over-limit"' not in before
    assert "Dentro del límite" in antonio(before)
    assert "El límite de la política es 2 seguidas." in before
    start = dt.datetime(2026, 12, 14, 8, tzinfo=MADRID)
    async with engine.begin() as conn:
        await create_override(conn=conn, team="lighting", kind="replace", person="antonio",
                              replaces="carmen", starts_at=start,
                              ends_at=start + dt.timedelta(days=7), reason="Vacaciones",
                              created_by="hr:lucia", status=OverrideStatus.active)
    after = await (await client.get(shown)).text()
    row = antonio(after)
    assert "07/12, 14/12, 21/12" in row and 'data-label="Máximo seguidas">3</td>' in row
    assert ("Antonio Molina está de guardia 3 semanas seguidas desde la semana del "
            "2026-12-07 (el límite de la política es 2: "
            "`on_call_limits.max_consecutive_weeks`)") in row
    assert '<tr class="over-limit">\n      <th scope="row">Antonio Molina</th>' in after
    # Carmen's weeks went to him: none left for her.
    table = after.split('id="on-call-table"')[1].split("</table>")[0]
    assert "Ninguna semana de guardia" in table.split("Carmen Ruiz</th>")[1].split("</tr>")[0]


async def test_the_policy_in_force_and_the_errors_of_files_that_did_not_load(
        client: Client, engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "lucia")
    store = client.app[policy_key]
    page = await (await client.get("/hr/policy")).text()
    assert "Ninguno: los archivos cargan bien." in page
    assert "<code>holidays.yaml</code>" in page and "<code>staff.yaml</code>" in page
    assert "Alumbrado público (street lighting)" in page
    assert "Guardia de alumbrado (street lighting on call)" in page
    assert ("Fiestas de la Comunidad de Madrid · festivos nacionales y autonómicos de ES-MD"
            in page)
    # The admin's details stay on the admin's page: the server's directory, the reload.
    assert str(store.directory) not in page and "/admin/policy/reload" not in page
    staff = store.directory / "staff.yaml"
    good = staff.read_text(encoding="utf-8")
    lines = good.splitlines()
    line = next(n for n, text in enumerate(lines, start=1)
                if text == "    timezone: Europe/Madrid" and n > 20)
    lines[line - 1] = "    timezone: Europe/Nowhere"
    staff.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not store.reload()
    broken = await (await client.get("/hr/policy")).text()
    assert "tienen errores: 1. Sigue en vigor la política cargada" in broken
    errors = broken[broken.index('id="policy-errors"'):]
    assert "<code>staff.yaml</code>" in errors
    assert f'data-label="Línea">{line}</td>' in errors and "Europe/Nowhere" in errors
    assert str(store.directory) not in broken
