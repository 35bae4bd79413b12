"""HR's holidays and policy pages in a real browser on a phone, in Spanish: reached from
the menu, each calendar's days with their source, the policy in force; no accessibility
violation, nothing wider than the screen. The browser, the served app and the checks
(axe-core, CSP, screenshots) are test_browser.py's."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.ui.browsing import PHONE, Served, new_visit, too_wide

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_hrs_holidays_and_policy_on_a_phone(
        browser: Browser, served: Served) -> None:
    visit = await new_visit(browser, served, **PHONE)
    page = visit.page
    await visit.sign_in_as("lucia")
    await visit.go("/hr/schedule")
    await page.get_by_role("navigation", name="Secciones de RR. HH.").get_by_role(
        "link", name="Festivos").click()
    await page.wait_for_url("**/hr/holidays")
    assert await visit.text("h1") == "Festivos"
    await visit.go("/hr/holidays?year=2026")
    town = await visit.text("#holidays-ejemplo")
    assert "Feria de septiembre (invented)" in town and "Escrito en la política" in town
    madrid = await visit.text("#holidays-es-madrid")
    assert "Fiesta de la Comunidad de Madrid" in madrid
    assert "Autonómico (ES-MD), del paquete holidays" in madrid
    assert await too_wide(page) == []
    await visit.check("hr-holidays")
    await page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Política en vigor").click()
    await page.wait_for_url("**/hr/policy")
    assert await visit.text("h1") == "La política en vigor"
    assert "Ninguno: los archivos cargan bien." in await visit.text("#main")
    assert "Alumbrado público (street lighting)" in await visit.text("#policy-teams")
    assert await too_wide(page) == []
    await visit.check("hr-policy")
    await visit.context.close()
