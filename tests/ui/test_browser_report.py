"""The wellbeing report in a real browser on a phone, in Spanish: the menu leads to it,
the replayed week's figures and charts are there (the charts named for screen readers),
nothing sticks out of the screen, and the previous week is a tap away. The browser, the
served app and the checks (axe-core, CSP, screenshots) are test_browser.py's."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.conftest import example_policy
from tests.ui.browsing import PHONE, Served, new_visit, too_wide
from tests.wellbeing_week import replay_week

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_wellbeing_report_on_a_phone(
        browser: Browser, served: Served) -> None:
    await replay_week(served.engine, example_policy())
    visit = await new_visit(browser, served, **PHONE)
    page = visit.page
    await visit.sign_in_as("lucia")
    await visit.go("/")
    await page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Informe de bienestar").click()
    await page.wait_for_url("**/report")
    assert await visit.text("h1") == "Informe de bienestar"
    await visit.go("/report?week=2026-W48")
    town = await visit.text("section[aria-labelledby=town-title]")
    assert "Contactos apartados de las horas de descanso\n4" in town
    assert "3, 2 confirmados" in town
    chart = page.get_by_role("img", name="Avisos urgentes de noche y contactos apartados de "
                                         "las horas de descanso, por persona")
    assert await chart.is_visible()
    assert await page.get_by_role("img", name="Las últimas 8 semanas del ayuntamiento",
                                  exact=False).is_visible()
    assert "Antonio Molina" in await visit.text("section[aria-labelledby=storms-title]")
    assert await too_wide(page) == []
    await visit.check("report")
    await page.get_by_role("link", name="Semana anterior").click()
    await page.wait_for_url("**/report?week=2026-W47")
    assert "Ninguna tormenta esta semana." in await visit.text("#main")
    await visit.check()
    await visit.context.close()
