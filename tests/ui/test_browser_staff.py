"""Staff's pages in a real browser on a phone: the message page a notification's link
opens (no sign-in), its request moved on with a tap, and the acknowledgement page of a
page. The browser, the served app and the checks (axe-core, CSP, screenshots) are
test_browser.py's."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import Browser

from guardian.acks.links import FlagLinks, ack_token
from guardian.config.settings import Settings
from guardian.storage.pages import Step, open_page
from tests.ui.browsing import PHONE, Served, new_visit, too_wide
from tests.ui.test_staff_pages import MASKED, RAW, _notified

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_notification_link_on_a_phone(
        browser: Browser, served: Served, settings: Settings) -> None:
    message_id = await _notified(served.engine, "1", ("antonio",))
    visit = await new_visit(browser, served, **PHONE)
    page = visit.page
    await visit.go(FlagLinks(settings.secret_key, "").page(message_id, "antonio"))
    assert await visit.text("#message-text") == MASKED
    assert RAW not in await page.content()
    assert "Alumbrado público" in await visit.text("main")
    assert await too_wide(page) == []
    await visit.check("message")
    await page.get_by_role("button", name="Marcar como en curso").click()
    await page.wait_for_url("**done=moved**")
    assert "la petición está ahora en curso" in await visit.text("[role=status]")
    assert "Estado de la petición: en curso" in await visit.text("#status-title")
    await visit.check()
    await page.get_by_label("Nota para los moderadores").fill("Nos llama cabezas de chorlito")
    await page.get_by_role("button", name="Sí, márcalo como abusivo").click()
    await page.wait_for_url("**done=flagged**")
    assert "Lo has marcado como abusivo" in await visit.text("[role=status]")
    # A link cut when copied: a clear page, accessible too.
    await visit.go(FlagLinks(settings.secret_key, "").page(message_id, "antonio")[:-6])
    assert await visit.text("h1") == "Este enlace no funciona"
    await visit.check()
    await visit.context.close()


async def test_acknowledging_a_page_on_a_phone(
        browser: Browser, served: Served, settings: Settings) -> None:
    message_id = await _notified(served.engine, "1", ())
    now = dt.datetime.now(dt.UTC)
    async with served.engine.begin() as conn:
        paged, _ = await open_page(conn=conn, team="lighting", reason="…",
                                   plan=[Step("antonio", 10), Step("carmen", 15)],
                                   last_resort="lucia", now=now, message_id=message_id,
                                   category="street_lighting")
    visit = await new_visit(browser, served, **PHONE)
    page = visit.page
    await visit.go(f"/ack/{ack_token(settings.secret_key, paged.id or 0, 'antonio')}")
    assert await visit.text("h1") == "Urgente: Alumbrado público"
    assert "Carmen Ruiz" in await visit.text("ol.chain")
    assert await too_wide(page) == []
    await visit.check("ack")
    await page.get_by_role("button", name="Me encargo yo").click()
    await page.locator("[role=status]").wait_for()
    assert "La escalada se ha detenido" in await visit.text("[role=status]")
    await visit.check()
    await page.get_by_role("link", name="Ver el mensaje y su estado").click()
    await page.wait_for_url("**/m/**")
    assert await visit.text("#message-text") == MASKED
    await visit.context.close()


async def test_the_day_and_the_inbox_on_a_phone(
        browser: Browser, served: Served) -> None:
    message_id = await _notified(served.engine, "1", ("carmen",))
    visit = await new_visit(browser, served, **PHONE)
    page = visit.page
    await visit.sign_in_as("carmen")
    await visit.go("/")
    await page.wait_for_url("**/today")
    assert "Hola, Carmen Ruiz" in await visit.text("h1")
    assert await too_wide(page) == []
    await visit.check("today")
    await page.get_by_role("link", name="Bandeja de entrada: 1 sin leer").click()
    await page.wait_for_url("**/inbox")
    assert MASKED in await visit.text("ul.inbox")
    assert await too_wide(page) == []
    await visit.check("inbox")
    await page.get_by_role("link", name="Ver el mensaje").click()
    await page.wait_for_url(f"**/messages/{message_id}")
    assert await visit.text("#message-text") == MASKED
    await visit.check()
    await visit.go("/inbox")
    assert await page.locator("li.unread").count() == 0
    await page.get_by_role("link", name="Canales").click()
    await page.wait_for_url("**/channels")
    assert "mailtos://carmen:***@smtp.ejemplo.es" in await visit.text("ol.chain")
    assert await too_wide(page) == []
    await visit.check("channels")
    await page.get_by_role("link", name="Cambios de turno").click()
    await page.wait_for_url("**/swaps")
    await page.get_by_label("Desde").fill("2026-12-20T08:00")
    await page.get_by_label("Hasta").fill("2026-12-20T15:00")
    await page.get_by_label("Por qué").fill("Médico")
    await page.get_by_role("button", name="Pedir").click()
    await page.wait_for_url("**done=proposed")
    assert "Antonio Molina cubriría tu turno" in await visit.text("main")
    assert await too_wide(page) == []
    await visit.check("swaps")
    await visit.context.close()
