"""The admin's desk in a real browser: the token flow (created, shown once, used against
the API, revoked), the re-drive of parked messages, a channel test against a loopback
receiver, the policy's errors after a broken reload, and every admin page on a laptop
and a phone. The browser, the served app and the checks (axe-core, CSP, screenshots) are
test_browser.py's."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from guardian.config.settings import Settings
from guardian.schemas import MessageIn
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from tests.conftest import message
from tests.receivers import JsonReceiver
from tests.ui.browsing import PHONE, Served, Visit, new_visit, too_wide

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAGES = ("/admin", "/admin/tokens", "/admin/people", "/admin/channels", "/admin/messages",
         "/admin/connectors", "/admin/policy")


async def _ingest(app: Served, token: str, external_id: str) -> int:
    async with aiohttp.ClientSession() as session, session.post(
            f"{app.url}/api/v1/messages", json=message(external_id),
            headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def _parked(app: Served, *external_ids: str) -> list[int]:
    async with app.engine.begin() as conn:
        stored = await store_messages(conn=conn, messages=[
            MessageIn.model_validate(message(e)) for e in external_ids])
        await conn.execute(messages_table.update().values(
            failed_at=utcnow(), attempts=5, last_error="scorer timed out after 30 s"))
    return [s.id for s in stored]


async def test_the_admins_token_flow(visit: Visit) -> None:
    page = visit.page
    await visit.sign_in_as("lucia")
    await visit.go("/")
    await page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Mesa de administración").click()
    await page.wait_for_url("**/admin")
    assert await visit.text("h1") == "Mesa de administración"
    await visit.check("admin")
    await page.get_by_role("navigation", name="Secciones de administración").get_by_role(
        "link", name="Tokens").click()
    await page.wait_for_url("**/admin/tokens")
    await visit.check()
    await page.get_by_label("Nombre").fill("mastodon-ayto")
    await page.get_by_label("Función").select_option("ingest")
    await page.get_by_label("Persona").select_option("")
    await page.get_by_role("button", name="Crear el token").click()
    await page.locator("#new-token").wait_for()
    secret = await visit.text("#new-token")
    assert re.fullmatch(r"gdn_[A-Za-z0-9_-]{40,}", secret)
    assert "Token mastodon-ayto creado" in await visit.text("[role=status]")
    await visit.check("admin-token-created")
    assert await _ingest(visit.served, secret, "1") == 202
    # Shown once: the list, opened again, has its first characters only.
    await visit.go("/admin/tokens")
    assert secret not in await page.content()
    row = page.locator("tr", has_text="mastodon-ayto")
    await row.get_by_text("Revocar…").click()  # the confirmation opens in place
    await row.get_by_role("button", name="Revocar mastodon-ayto ahora").click()
    await page.wait_for_url("**/admin/tokens?revoked=*")
    assert "está revocado" in await visit.text("[role=status]")
    await visit.check()
    await asyncio.sleep(0.1)  # the token cache of the tests' settings: 0.05 s
    assert await _ingest(visit.served, secret, "2") == 401
    # A mistake is said in the form, with nothing created.
    await page.get_by_label("Nombre").fill("maria-script")
    await page.get_by_label("Función").select_option("moderator")
    await page.get_by_role("button", name="Crear el token").click()
    await page.locator("#token-error").wait_for()
    assert "pertenece a una persona" in await visit.text("#token-error")
    assert await page.get_by_label("Nombre").input_value() == "maria-script"
    await visit.check()


async def test_the_admins_redrive_flow(visit: Visit) -> None:
    first, second = await _parked(visit.served, "p1", "p2")
    page = visit.page
    await visit.sign_in_as("lucia")
    await visit.go("/admin")
    assert "Aparcados tras fallar todos los intentos: 2." in await visit.text("main")
    await page.get_by_role("link", name="Mensajes aparcados").click()
    await page.wait_for_url("**/admin/messages#parked")
    assert "scorer timed out" in await visit.text(f"#parked-{first}")
    await visit.check("admin-messages")
    await page.get_by_role("button", name=f"Reprocesar el mensaje {first}").click()
    await page.wait_for_url("**/admin/messages?retried=1")
    assert "Mensajes devueltos a la cola: 1." in await visit.text("[role=status]")
    assert await page.locator(f"#parked-{first}").count() == 0
    await visit.check()

    async def parked() -> list[int]:
        c = messages_table.c
        async with visit.served.engine.connect() as conn:
            return list((await conn.execute(select(c.id).where(c.failed_at.is_not(None))
                                            .order_by(c.id))).scalars())

    assert await parked() == [second]
    await page.get_by_role("button", name="Reprocesar todos los mensajes aparcados (1)"
                           ).click()
    await page.wait_for_url("**/admin/messages?retried=1")
    assert "No hay mensajes aparcados." in await visit.text("main")
    assert await parked() == []


async def test_a_channel_test_from_the_page(visit: Visit, settings: Settings
                                            ) -> None:
    receiver = await JsonReceiver().start()
    try:
        staff = Path(settings.policies_dir) / "staff.yaml"
        text = staff.read_text(encoding="utf-8")
        start = text.index("  - id: antonio\n")
        end = text.index("  - id: ", start + 1)
        block = re.sub(r"    channels:\n(?:      - .*\n)+",
                       f'    channels:\n      - "{receiver.url("antonio")}"\n',
                       text[start:end])
        staff.write_text(text[:start] + block + text[end:], encoding="utf-8")
        page = visit.page
        await visit.sign_in_as("lucia")
        await visit.go("/admin/policy")
        await page.get_by_role("button", name="Volver a leer los archivos ahora").click()
        await page.wait_for_url("**reloaded=loaded")
        await visit.go("/admin/channels")
        await page.get_by_role("button", name="Enviar un mensaje de prueba a Antonio Molina"
                               ).click()
        await page.locator("#test-results").wait_for()
        assert "Ha funcionado" in await visit.text("#test-results")
        assert [p.path for p in receiver.posts] == ["/antonio"]
        await visit.check("admin-channels")
    finally:
        await receiver.close()


async def test_the_policy_errors_after_a_broken_reload(visit: Visit,
                                                       settings: Settings) -> None:
    teams = Path(settings.policies_dir) / "teams.yaml"
    good = teams.read_text(encoding="utf-8")
    teams.write_text(good + "\nteams_typo: [\n", encoding="utf-8")
    page = visit.page
    await visit.sign_in_as("lucia")
    await visit.go("/admin/policy")
    await page.get_by_role("button", name="Volver a leer los archivos ahora").click()
    await page.wait_for_url("**reloaded=refused")
    assert "Los archivos tienen errores" in await visit.text("[role=alert]")
    errors = await visit.text("#policy-errors")
    assert "teams.yaml" in errors and "YAML" in errors
    await visit.check("admin-policy")
    await visit.go("/admin")
    assert "Requiere atención" in await visit.text("main")
    await visit.check()
    teams.write_text(good, encoding="utf-8")


async def test_every_admin_page_on_a_laptop_and_a_phone(browser: Browser,
                                                        served: Served) -> None:
    await _parked(served, "p1")
    for options, name in (({"viewport": {"width": 1100, "height": 900},
                            "locale": "es-ES"}, "laptop"), (PHONE, "phone")):
        desk = await new_visit(browser, served, **options)
        await desk.sign_in_as("lucia")
        for path in PAGES:
            await desk.go(path)
            assert await desk.text("h1"), path
            if name == "phone":
                width = await desk.page.evaluate(
                    "() => document.documentElement.scrollWidth")
                assert width == 390, path
                assert await too_wide(desk.page) == [], path
            await desk.check({("phone", "/admin/messages"): "admin-phone",
                              ("laptop", "/admin/people"): "admin-people"}.get((name, path)))
        await desk.context.close()


async def test_the_desk_in_english(browser: Browser, served: Served) -> None:
    desk = await new_visit(browser, served, viewport={"width": 1100, "height": 900})
    await desk.sign_in_as("lucia")
    await desk.go("/admin/tokens")
    await desk.page.get_by_role("button", name="English").click()
    await desk.page.wait_for_url("**/admin/tokens")
    assert await desk.text("h1") == "API tokens"
    for path in PAGES:
        await desk.go(path)
        assert "Mesa de administración" not in await desk.page.content(), path
        await desk.check()
    await desk.context.close()
