"""The wellbeing report's page over HTTP, through the real app: the week's numbers, the
charts drawn as SVG with an accessible name and their numbers in tables, the CSV, week by
week; the mayor (a report reader, not HR) may read it and nothing else of HR's, HR may,
a member of staff may not."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from tests.conftest import Client, example_policy, with_settings
from tests.ui.conftest import sign_in_as
from tests.wellbeing_week import WEEK_FILE, replay_week


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """HR is Elena; Lucía, the mayor, reads the report (`moderation.report_readers`)."""
    limits = settings.policies_dir / "limits.yaml"
    text = limits.read_text(encoding="utf-8")
    assert "  hr: [lucia]\n" in text and "  report_readers: []\n" in text
    limits.write_text(text.replace("  hr: [lucia]\n", "  hr: [elena]\n").replace(
        "  report_readers: []\n", "  report_readers: [lucia]\n"), encoding="utf-8")
    return with_settings(settings, policies_dir=settings.policies_dir)


async def _seed(engine: AsyncEngine, tmp_path: Path) -> None:
    """A lamp that waited for Carmen's digest and a night page Antonio acknowledged."""
    lines = [line for line in WEEK_FILE.read_text(encoding="utf-8").splitlines()
             if '"lamp-tue-2300"' in line or "cable-wed-0300" in line]
    path = tmp_path / "week.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    await replay_week(engine, example_policy(), path, extras=False)


def _section(html: str, title_id: str) -> str:
    return html.split(f'id="{title_id}"')[1].split("</section>")[0]


async def test_the_mayor_reads_the_weeks_figures_and_charts(client: Client,
                                                            engine: AsyncEngine,
                                                            tmp_path: Path) -> None:
    await _seed(engine, tmp_path)
    await sign_in_as(client, engine, "lucia")
    response = await client.get("/report?week=2026-W48")
    assert response.status == 200
    html = await response.text()
    assert "<h1>Informe de bienestar</h1>" in html
    assert ("Semana 48 de 2026: del lunes 23/11/2026 al domingo 29/11/2026, en el reloj "
            "del ayuntamiento (Europe/Madrid).") in html
    # The menu links the page for her; HR's own pages are not hers.
    assert '<a href="/report">Informe de bienestar</a>' in html
    assert 'href="/hr/schedule"' not in html
    town = _section(html, "town-title")
    assert "<dt>Contactos apartados de las horas de descanso</dt><dd>1</dd>" in town
    assert "<dd>1, 1 confirmados</dd>" in town
    # The charts: SVG with an accessible name, Carmen's bar, and the numbers in tables.
    charts = _section(html, "charts-title")
    assert charts.count('role="img"') == 2
    assert re.search(r'<svg class="chart" viewBox="0 0 400 \d+" role="img" '
                     r'aria-labelledby="bars-title">\s*<title id="bars-title">Avisos urgentes '
                     r'de noche y contactos apartados de las horas de descanso, por persona'
                     r"</title>", charts)
    assert '<text x="0" y="13" class="chart-label">Antonio Molina</text>' in charts
    assert 'class="bar kept_from_quiet_hours"' in charts
    assert '<title id="trend-title">Las últimas 8 semanas del ayuntamiento' in charts
    last = charts.split('<a href="/report?week=2026-W48">2026-W48</a></th>')[1]
    assert re.findall(r">(\d+)</td>", last.split("</tr>")[0]) == ["1", "1", "0"]
    people = _section(html, "people-title")
    carmen = people.split('id="person-carmen"')[1].split("</tr>")[0]
    assert re.findall(r">(\d+|\u2013)</td>", carmen)[:4] == ["1", "0", "0", "0"]
    antonio = people.split('id="person-antonio"')[1].split("</tr>")[0]
    assert re.findall(r">(\d+|\u2013)</td>", antonio)[:5] == ["0", "0", "1", "1", "12"]
    pages = _section(html, "pages-title")
    assert "Antonio Molina (03:00)" in pages and "Antonio Molina (25/11 03:12)" in pages
    assert "Ninguna tormenta esta semana." in _section(html, "storms-title")
    # Week by week: the one before has nothing; the CSV of the week.
    assert '<a href="/report?week=2026-W47">Semana anterior</a>' in html
    assert '<a href="/report.csv?week=2026-W48" download>' in html
    before = await (await client.get("/report?week=2026-W47")).text()
    assert "<dt>Contactos apartados de las horas de descanso</dt><dd>0</dd>" in before
    exported = await client.get("/report.csv?week=2026-W48")
    assert exported.status == 200 and exported.content_type == "text/csv"
    lines = list(csv.reader(io.StringIO(await exported.text())))
    assert lines[1][:5] == ["2026-W48", "town", "town", "Ayuntamiento de Ejemplo", "1"]
    # Nothing else of HR's.
    assert (await client.get("/hr/schedule")).status == 403
    assert (await client.get("/hr/overrides")).status == 403


async def test_a_bad_week_is_said_and_the_last_week_shown(client: Client,
                                                         engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "elena")  # HR
    response = await client.get("/report?week=2026-W61")
    assert response.status == 400
    html = await response.text()
    assert ('<p class="error" role="alert">Escribe la semana como 2026-W49, una semana que '
            "exista; aquí está la última semana terminada.</p>") in html
    assert "<h1>Informe de bienestar</h1>" in html
    exported = await client.get("/report.csv?week=nada")
    assert exported.status == 400 and "`week`: " in await exported.text()


async def test_a_member_of_staff_may_not_read_it(client: Client, engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "antonio")
    for path in ("/report", "/report.csv?week=2026-W48"):
        response = await client.get(path)
        assert response.status == 403
        assert "moderation.report_readers" in await response.text()
    home = await (await client.get("/today")).text()
    assert 'href="/report"' not in home
