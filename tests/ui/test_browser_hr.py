"""HR's pages in a real browser on a phone: the schedule (a holiday marked), an override
made with the form, and the schedule showing it. The browser, the served app and the
checks (axe-core, CSP, screenshots) are test_browser.py's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser

from tests.ui.browsing import PHONE, Served, new_visit, too_wide

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_hrs_schedule_and_an_override_on_a_phone(
        browser: Browser, served: Served) -> None:
    visit = await new_visit(browser, served, **PHONE)
    page = visit.page
    await visit.sign_in_as("lucia")
    await visit.go("/")
    await page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Turnos de los equipos").click()
    await page.wait_for_url("**/hr/schedule")
    assert await visit.text("h1") == "Turnos de los equipos"
    await visit.go("/hr/schedule?from=2026-12-07&weeks=1")
    assert "Festivo: Inmaculada Concepción" in await visit.text("#main")
    assert await too_wide(page) == []
    await visit.check("hr-schedule")
    # An addition to street lighting next Wednesday, made with the form.
    today = dt.datetime.now(ZoneInfo("Europe/Madrid")).date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    day = (monday + dt.timedelta(days=2)).isoformat()
    await page.get_by_role("link", name="Cambios y permutas").first.click()
    await page.wait_for_url("**/hr/overrides")
    await page.get_by_label("Equipo", exact=True).select_option("lighting")
    await page.get_by_label("Cambio", exact=True).select_option("add")
    await page.get_by_label("Persona (quien entra, o quien se retira)").select_option("elena")
    await page.get_by_label("Desde", exact=True).fill(f"{day}T09:00")
    await page.get_by_label("Hasta", exact=True).fill(f"{day}T17:00")
    await page.get_by_label("Motivo (lo leen RR. HH. y las personas afectadas)").fill(
        "Refuerzo por la feria")
    await page.get_by_role("button", name="Crear").click()
    await page.wait_for_url("**done=created**")
    assert "Creado" in await visit.text("[role=status]")
    assert "Refuerzo por la feria" in await visit.text("#overrides")
    assert await too_wide(page) == []
    await visit.check("hr-overrides")
    await visit.go(f"/hr/schedule?team=lighting&weeks=1&from={monday.isoformat()}")
    assert "Elena Castro" in await visit.text("#main")
    await visit.check()
    await visit.context.close()
