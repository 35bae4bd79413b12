"""The pages in a real browser (tests/ui/browsing.py: Debian's Chromium driven by
Playwright, against the real app served on a loopback port). One browser per module;
each test has its own context (cookies) and database. The sign-in, the moderators' day,
refusals, a phone in English and the remaining pages' accessibility."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from guardian.storage.accounts import create_invitation
from guardian.storage.db import utcnow
from guardian.web.ui.sessions import COOKIE
from tests.ui.browsing import Served, Visit, new_visit, too_wide
from tests.ui.conftest import LIMIT, MASKED, PASSWORD, RAW, held

# One event loop for the module: the browser (launched once) and each test's server live
# in it.
pytestmark = pytest.mark.asyncio(loop_scope="module")


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
    visit = await new_visit(browser, served, viewport={"width": 390, "height": 844},
                            is_mobile=True, has_touch=True)
    page = visit.page
    item = await held(served.engine, "1")
    await visit.sign_in_as("maria")
    await visit.go(f"/moderation/{item}")
    await page.get_by_role("button", name="English").click()
    await page.wait_for_url(f"**/moderation/{item}")
    assert (await visit.text("h1")).startswith("Item ")
    assert await page.evaluate("() => document.documentElement.scrollWidth") == 390
    assert await too_wide(page) == []
    await visit.check()
    await visit.go("/moderation")
    assert await visit.text("h1") == "Review queue"
    assert await page.evaluate("() => document.documentElement.scrollWidth") == 390
    assert await too_wide(page) == []
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
