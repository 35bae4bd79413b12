"""The web pages' fixtures: the example town with two moderators and a small exposure
limit, review items with mild invented text, and helpers to sign in over plain HTTP."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, async_playwright
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.review.queue import enqueue_review
from guardian.schemas import MessageIn
from guardian.storage.accounts import create_invitation, open_session
from guardian.storage.db import create_engine, utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.web.app import init_app
from guardian.web.ui.sessions import COOKIE
from tests.conftest import POLICIES, Client, message, with_settings
from tests.receivers import closed_port
from tests.ui.browsing import CHROMIUM, Served, Visit, new_visit

LIMIT = 3  # this module's exposure_limits.max_abusive_items_per_day
PASSWORD = "farola-fundida-42"  # a test's password
# Rude but clean, and invented: what a test strictly needs, nothing more.
RAW = "Sois unos cabezas de chorlito, la farola sigue rota"
MASKED = "Sois unos [insulto], la farola sigue rota"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The example policies with a second moderator (Elena) and a limit of three abusive
    items a day, so that a test reaches it."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    limits = policies / "limits.yaml"
    text = limits.read_text(encoding="utf-8")
    text = text.replace("moderators: [maria]", "moderators: [maria, elena]")
    text = text.replace("max_abusive_items_per_day: 60", f"max_abusive_items_per_day: {LIMIT}")
    limits.write_text(text, encoding="utf-8")
    return with_settings(settings, policies_dir=policies)


async def held(engine: AsyncEngine, external_id: str, *, level: str = "abusive",
               handle: str = "@chorlito", text: str = RAW, masked: str = MASKED,
               reason: str | None = None, category: str | None = "street_lighting",
               target: str | None = "lighting") -> int:
    """A stored, scored message held for review; answers the review item's id."""
    body = message(external_id, text=text, author={"handle": handle})
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(body)])
        await conn.execute(update(messages_table).where(messages_table.c.id == stored.id)
                           .values(masked_text=masked, harassment_level=level))
        item = await enqueue_review(conn=conn, message_id=stored.id, reason=reason or level,
                                    level=level, category=category, target=target)
    assert item.id is not None
    return item.id


def form_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:2000]
    return found.group(1)


async def invite(engine: AsyncEngine, staff_id: str) -> str:
    """An invitation link's path, as `guardian people invite` makes it."""
    token = await create_invitation(engine=engine, staff_id=staff_id, created_by="test",
                                    now=utcnow())
    return f"/invitation/{token}"


async def accept(client: Client, path: str, password: str = PASSWORD) -> None:
    """Open an invitation and set the password: the client is then signed in."""
    page = await client.get(path)
    assert page.status == 200
    done = await client.post(path, data={"csrf_token": form_token(await page.text()),
                                         "password": password, "again": password},
                             allow_redirects=False)
    assert done.status == 303, await done.text()


async def sign_in_as(client: Client, engine: AsyncEngine, staff_id: str) -> str:
    """A signed-in client, its session made in the database (signing in through the forms
    has tests of its own; each password costs an argon2 hash). Answers a CSRF token of
    the session, read from a page."""
    session_id = await open_session(engine=engine, staff_id=staff_id, address="127.0.0.1",
                                    now=utcnow())
    client.session.cookie_jar.update_cookies({COOKIE: session_id},
                                             response_url=client.make_url("/"))
    home = await client.get("/moderation" if staff_id in ("maria", "elena") else "/")
    return form_token(await home.text())


# The browser tests' fixtures (tests/ui/browsing.py has the rest).

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


@pytest_asyncio.fixture(loop_scope="module")
async def visit(browser: Browser, served: Served) -> AsyncIterator[Visit]:
    visit = await new_visit(browser, served, viewport={"width": 1100, "height": 900},
                            locale="es-ES")
    yield visit
    await visit.context.close()
