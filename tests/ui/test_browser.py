"""The pages in a real browser: Debian's Chromium (/usr/bin/chromium, never a browser
Playwright downloads) driven by Playwright, against the real app served on a loopback
port. One browser per module; each test has its own context (cookies) and database.

Every page visited is checked with axe-core (no serious or critical violation) and for
Content-Security-Policy violations. With GUARDIAN_SCREENSHOTS=DIR, the main pages are
saved there (docs/screenshots/ holds the ones the docs show)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.storage.accounts import create_invitation, open_session
from guardian.storage.db import create_engine, utcnow
from guardian.web.app import init_app
from guardian.web.ui.sessions import COOKIE
from tests.conftest import with_settings
from tests.receivers import closed_port
from tests.ui.conftest import LIMIT, MASKED, PASSWORD, RAW, held

# One event loop for the module: the browser (launched once) and each test's server live
# in it.
pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = "/usr/bin/chromium"
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
SCREENSHOTS = os.environ.get("GUARDIAN_SCREENSHOTS")
TIMEOUT_MS = 10_000


@dataclass
class Served:
    """The real app on a loopback port, and its database."""

    url: str
    engine: AsyncEngine


@pytest_asyncio.fixture(loop_scope="module")
async def served(settings: Settings) -> AsyncIterator[Served]:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    runner = web.AppRunner(init_app(with_settings(settings, public_url=url, port=port),
                                    run_worker=False))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    engine = create_engine(settings.database_url)
    yield Served(url, engine)
    await engine.dispose()
    await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        await launched.close()


@dataclass
class Visit:
    """A browser context on the served app, collecting what the console says."""

    context: BrowserContext
    page: Page
    served: Served
    console: list[str] = field(default_factory=list)

    async def go(self, path: str) -> None:
        await self.page.goto(self.served.url + path)

    async def sign_in_as(self, staff_id: str) -> str:
        """A session made in the database (the sign-in form has its own test)."""
        session_id = await open_session(engine=self.served.engine, staff_id=staff_id,
                                        address="127.0.0.1", now=utcnow())
        await self.context.add_cookies([{"name": COOKIE, "value": session_id,
                                         "url": self.served.url, "httpOnly": True,
                                         "sameSite": "Lax"}])
        return session_id

    async def text(self, selector: str) -> str:
        return await self.page.inner_text(selector)

    async def check(self, shot: str | None = None) -> None:
        """No serious or critical accessibility violation, no CSP violation; a
        screenshot when asked for."""
        await self.page.evaluate(AXE)
        found = await self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']}))"
            ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))")
        bad = [v for v in found if v["impact"] in ("serious", "critical")]
        assert bad == [], (self.page.url, bad)
        blocked = [line for line in self.console if "Content Security Policy" in line]
        assert blocked == [], blocked
        if shot and SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{shot}.png"),
                                       full_page=True)


async def _too_wide(page: Page) -> list[str]:
    """What sticks out to the right of the screen (a phone must not scroll sideways)."""
    found: list[str] = await page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
        ".map(e => `${e.tagName}#${e.id}.${e.className}`)")
    return found


async def _visit(browser: Browser, served: Served, **options: Any) -> Visit:
    context = await browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    visit = Visit(context, page, served)
    page.on("console", lambda message: visit.console.append(message.text))
    return visit


@pytest_asyncio.fixture(loop_scope="module")
async def visit(browser: Browser, served: Served) -> AsyncIterator[Visit]:
    visit = await _visit(browser, served, viewport={"width": 1100, "height": 900},
                         locale="es-ES")
    yield visit
    await visit.context.close()


async def test_sign_in_through_an_invitation_then_with_the_password(visit: Visit) -> None:
    token = await create_invitation(engine=visit.served.engine, staff_id="maria",
                                    created_by="test", now=utcnow())
    page = visit.page
    await visit.go(f"/invitation/{token}")
    assert "María Ortega" in await visit.text("h1")
    await visit.check()
    await page.get_by_label("Contraseña nueva").fill(PASSWORD)
    await page.get_by_label("La misma contraseña otra vez").fill(PASSWORD)
    await page.get_by_role("button", name="Guardar la contraseña y entrar").click()
    await page.wait_for_url("**/moderation")
    assert await visit.text("h1") == "Cola de revisión"
    await page.get_by_role("button", name="Cerrar sesión", exact=True).click()
    await page.wait_for_url("**/signin")
    await visit.check("signin")
    await page.get_by_label("Identificador de personal").fill("maria")
    await page.get_by_label("Contraseña").fill("no es la contraseña")
    await page.get_by_role("button", name="Entrar").click()
    await page.locator("[role=alert]").wait_for()
    assert "no coinciden" in await visit.text("[role=alert]")
    await visit.check()
    await page.get_by_label("Contraseña").fill(PASSWORD)
    await page.get_by_role("button", name="Entrar").click()
    await page.wait_for_url("**/moderation")


async def test_a_moderators_whole_day(visit: Visit) -> None:
    """Storm decided in bulk, a claim in place, reveal and dismiss by keyboard, an
    escalation with its reason, a confirmation, and the calm page at the limit."""
    engine = visit.served.engine
    for n in range(2):
        await held(engine, f"s{n}", handle=f"@vecino{n}", reason="storm", target="antonio")
    items = [await held(engine, str(n), handle=f"@autor{n}") for n in range(LIMIT + 1)]
    page = visit.page
    await visit.sign_in_as("maria")
    await visit.go("/moderation")
    assert RAW not in await page.content() and MASKED in await page.content()
    await visit.check("queue")
    # The storm: one group, one decision.
    storm = page.locator("section.storm")
    assert "2 mensajes de 2 autores dirigidos a Antonio Molina" in await storm.inner_text()
    await storm.get_by_label("Decisión").select_option("dismiss")
    await storm.get_by_role("button", name="Decidir toda la tormenta").click()
    await page.wait_for_url("**bulk_decided=2**")
    assert "2 elementos decididos" in await visit.text("[role=status]")
    # A claim from the list, in place (htmx): the page stays, the item says it is ours.
    first = page.locator(f"#item-{items[0]}")
    await first.get_by_role("button", name="Tomar").click()
    await page.locator(f"#item-{items[0]} .claim.mine").wait_for()
    assert "bulk_decided=2" in page.url
    # j focuses the first item, Enter opens it; r reveals; d dismisses and moves on.
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/moderation/{items[0]}")
    await page.keyboard.press("r")
    await page.locator("#original").wait_for()
    assert RAW in await visit.text("#original")
    await visit.check("item-revealed")
    await page.keyboard.press("d")
    await page.wait_for_url(f"**/moderation/{items[1]}?decided={items[0]}**")
    assert "descartado" in await visit.text("[role=status]")
    # Escalate, with a reason (e puts the cursor there).
    await page.get_by_role("button", name="Tomar este elemento").click()
    await page.get_by_role("button", name="Mostrar el original").click()
    await page.locator("#original").wait_for()
    await page.keyboard.press("e")
    await page.keyboard.type("Vuelve cada noche")
    await page.get_by_label("Escalar a").select_option("police")
    await page.get_by_role("button", name="Escalar", exact=True).click()
    await page.wait_for_url(f"**/moderation/{items[2]}?decided={items[1]}**")
    # The third reading of the day, confirmed with c.
    await page.get_by_role("button", name="Tomar este elemento").click()
    await page.locator("#reveal").wait_for()  # the claim is done: now the key
    await page.keyboard.press("r")
    await page.locator("#original").wait_for()
    assert await page.locator("#exposure-meter").get_attribute("value") == str(LIMIT)
    await page.keyboard.press("c")
    await page.wait_for_url(f"**/moderation/{items[3]}?decided={items[2]}**")
    # The limit: the queue is a calm page now.
    await visit.go("/moderation")
    assert await visit.text("h1") == "Por hoy has leído bastante"
    assert "Elena Castro" in await visit.text("main")
    await visit.check("limit")


async def test_a_form_without_its_token_is_refused(visit: Visit) -> None:
    item = await held(visit.served.engine, "1")
    page = visit.page
    await visit.sign_in_as("maria")
    await visit.go(f"/moderation/{item}")
    await page.evaluate("() => document.querySelectorAll('input[name=csrf_token]')"
                        ".forEach(input => input.value = 'forged')")
    await page.get_by_role("button", name="Tomar este elemento").click()
    await page.wait_for_url(f"**/moderation/{item}/claim")
    assert await visit.text("h1") == "Este formulario ha caducado"
    await visit.check()
    await visit.go(f"/moderation/{item}")
    assert await page.get_by_role("button", name="Tomar este elemento").is_visible()


async def test_a_session_is_refused_after_sign_out(visit: Visit) -> None:
    page = visit.page
    session_id = await visit.sign_in_as("maria")
    await visit.go("/moderation")
    await page.get_by_role("button", name="Cerrar sesión", exact=True).click()
    await page.wait_for_url("**/signin")
    await visit.context.add_cookies([{"name": COOKIE, "value": session_id,
                                      "url": visit.served.url}])
    await visit.go("/moderation")
    assert page.url.endswith("/signin?next=%2Fmoderation")


async def test_on_a_phone_in_english(browser: Browser, served: Served) -> None:
    """A narrow screen: one column, nothing wider than the screen; the person's choice of
    English kept with their account."""
    visit = await _visit(browser, served, viewport={"width": 390, "height": 844},
                         is_mobile=True, has_touch=True)
    page = visit.page
    item = await held(served.engine, "1")
    await visit.sign_in_as("maria")
    await visit.go(f"/moderation/{item}")
    await page.get_by_role("button", name="English").click()
    await page.wait_for_url(f"**/moderation/{item}")
    assert (await visit.text("h1")).startswith("Item ")
    assert await page.evaluate("() => document.documentElement.scrollWidth") == 390
    assert await _too_wide(page) == []
    await visit.check()
    await visit.go("/moderation")
    assert await visit.text("h1") == "Review queue"
    assert await page.evaluate("() => document.documentElement.scrollWidth") == 390
    assert await _too_wide(page) == []
    await visit.check()
    await visit.context.close()


async def test_other_pages_are_accessible(visit: Visit) -> None:
    """The pages the other tests do not check: a used or unknown invitation, a member of
    staff's start page, a refusal, the empty queue."""
    await visit.go("/invitation/not-a-real-one")
    assert await visit.text("h1") == "Este enlace de invitación ya no funciona"
    await visit.check()
    await visit.sign_in_as("antonio")
    await visit.go("/")
    assert "Hola, Antonio Molina" in await visit.text("h1")
    await visit.check()
    await visit.go("/moderation")
    assert await visit.text("h1") == "Esta página no es para ti"
    await visit.check()
    await visit.context.clear_cookies()
    await visit.sign_in_as("maria")
    await visit.go("/moderation")
    assert "No hay nada pendiente" in await visit.text("main")
    await visit.check()
