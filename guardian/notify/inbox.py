"""A local inbox for development: an HTTP receiver for apprise's `json://` that prints each
notification it gets. `guardian serve --inbox PORT` (what `make run` does) starts one and
points every notification at it (GUARDIAN_DELIVER_TO), so a newcomer sees what staff would
receive without configuring e-mail or chat. It listens on loopback only."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_KEPT = 200


@dataclass(frozen=True)
class Received:
    person: str
    title: str
    body: str


@dataclass
class Inbox:
    port: int
    host: str = "127.0.0.1"
    show: Callable[[str], None] = print
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The apprise URL template that reaches this inbox (`{person}` kept)."""
        return f"json://{self.host}:{self.port}/{{person}}"

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            data: Any = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "expected apprise's JSON body"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "expected a JSON object"}, status=400)
        got = Received(person=request.match_info["person"], title=str(data.get("title", "")),
                       body=str(data.get("message", "")))
        self.received = [*self.received[-(MAX_KEPT - 1):], got]
        rule = "─" * 72
        self.show(f"\n{rule}\n📨 to {got.person}: {got.title}\n{got.body}\n{rule}")
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_post("/{person}", self._receive)
        return app

    async def context(self, _: web.Application) -> AsyncIterator[None]:
        """A `cleanup_ctx` entry: the inbox runs as long as the service."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        log.info("development inbox on http://%s:%d: notifications are printed here",
                 self.host, self.port)
        yield
        await runner.cleanup()
