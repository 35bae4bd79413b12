"""HR's policy what-if in a real browser on a phone, in Spanish: a changed file chosen
with the file picker, the replay, and the difference side by side. The browser, the served
app and the checks (axe-core, CSP, screenshots) are test_browser.py's."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, FilePayload

from tests.ui.browsing import PHONE, Served, new_visit, too_wide
from tests.web.test_whatif import MASKED, ON_SQLITE, RAW, booking, rooms_to_elena

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPLAY_MS = 120_000  # two replays, each in a process of its own


@ON_SQLITE
async def test_hr_tries_a_policy_change_on_a_phone(
        browser: Browser, served: Served) -> None:
    await booking(served.engine)
    visit = await new_visit(browser, served, **PHONE)
    page = visit.page
    await visit.sign_in_as("lucia")
    await visit.go("/hr/schedule")
    await page.get_by_role("navigation", name="Secciones de RR. HH.").get_by_role(
        "link", name="Probar cambios en la política").click()
    await page.wait_for_url("**/hr/what-if")
    assert await visit.text("h1") == "Probar cambios en la política"
    changed = FilePayload(name="teams.yaml", mimeType="application/x-yaml",
                          buffer=rooms_to_elena().encode())
    await page.get_by_label("Archivos de la política cambiados (.yaml o .yml)").set_input_files(
        files=[changed])
    await page.get_by_label("Días que reproducir, hasta ahora").fill("2")
    await page.get_by_role("button", name="Probar", exact=True).click(timeout=REPLAY_MS)
    await page.locator("#what-if-result").wait_for(timeout=REPLAY_MS)
    result = await visit.text("#what-if-result")
    assert "La política cambiada habría contactado a las personas de otra manera" in result
    people = await visit.text("#what-if-people")
    assert "María Ortega" in people and "Elena Castro" in people
    messages = await visit.text("#what-if-messages")
    assert MASKED in messages and RAW not in await page.content()
    assert await too_wide(page) == []
    await visit.check("hr-what-if")
    await visit.context.close()
