"""Pages in a real browser: Debian's Chromium (/usr/bin/chromium, never a browser
Playwright downloads) driven by Playwright against the real app on a loopback port. The
fixtures (`browser`, one a module; `served`, the app and its database; `visit`, a laptop
in Spanish) are in tests/ui/conftest.py; this module has what tests call.

Every page checked with `Visit.check` passes axe-core (no serious or critical violation)
and has no Content-Security-Policy violation. With GUARDIAN_SCREENSHOTS=DIR, the main
pages are saved there (docs/screenshots/ holds the ones the docs show)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.accounts import open_session
from guardian.storage.db import utcnow
from guardian.web.ui.sessions import COOKIE

CHROMIUM = "/usr/bin/chromium"
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
SCREENSHOTS = os.environ.get("GUARDIAN_SCREENSHOTS")
TIMEOUT_MS = 10_000


@dataclass
class Served:
    """The real app on a loopback port, and its database."""

    url: str
    engine: AsyncEngine


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


async def too_wide(page: Page) -> list[str]:
    """What sticks out to the right of the screen (a phone must not scroll sideways)."""
    found: list[str] = await page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
        ".map(e => `${e.tagName}#${e.id}.${e.className}`)")
    return found


async def new_visit(browser: Browser, served: Served, **options: Any) -> Visit:
    context = await browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    visit = Visit(context, page, served)
    page.on("console", lambda message: visit.console.append(message.text))
    return visit


# A phone in Spanish, as most staff read Guardian.
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                         "has_touch": True, "locale": "es-ES"}
