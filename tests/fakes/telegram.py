"""A fake Telegram Bot API on loopback, serving `getUpdates` as documented
(https://core.telegram.org/bots/api#getupdates):

- `POST /bot<token>/getUpdates` with a JSON body; any other token answers 401
  `{"ok": false, "error_code": 401, "description": "Unauthorized"}`.
- `offset`: updates with `update_id >= offset`; those below are confirmed and forgotten. A
  negative offset returns the last `-offset` updates and forgets all earlier ones.
- `timeout`: long polling; with nothing to return, the request waits up to `timeout`
  seconds and returns as soon as an update arrives.
- Switches: `flood_retry_after` (answer 429 with `parameters.retry_after`, as flood control
  does), `webhook_set` (answer 409, as while a webhook is set), and `add_malformed()`.

The test adds updates with `add_message()` / `add_update()`; `requests` keeps every body.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

# What Telegram's user for the tests looks like, unless a test gives another.
USER: dict[str, Any] = {"id": 5550001, "is_bot": False, "first_name": "Lucía",
                        "last_name": "Pérez", "username": "lucia_vecina", "language_code": "es"}
PRIVATE_CHAT: dict[str, Any] = {"id": 5550001, "type": "private", "first_name": "Lucía"}


@dataclass
class FakeTelegram:
    token: str = "123456:ABC-fake-bot-token_xyz"
    flood_retry_after: int | None = None
    webhook_set: bool = False
    updates: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    # What the bot sent (`sendMessage`), and every update ever queued (chats it knows).
    sent: list[dict[str, Any]] = field(default_factory=list)
    sent_to_bot: list[dict[str, Any]] = field(default_factory=list)
    first_update_id: int = 700000
    _ids: itertools.count[int] = field(init=False)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(41))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: TestServer | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(self.first_update_id)

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        # No access log: it would print the token in the path (Telegram's logs, not ours).
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server(access_log=None)
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def api(self) -> str:
        """The base URL to give the connector (`api=`)."""
        assert self._server is not None and self._server.port is not None
        return f"http://127.0.0.1:{self._server.port}"

    # --- what the test adds ---------------------------------------------------------------

    def add_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue `update` (given an `update_id` unless it has one) and wake long polls."""
        update = {"update_id": next(self._ids), **update}
        self.updates.append(update)
        self.sent_to_bot.append(update)
        self._arrived.set()
        self._arrived = asyncio.Event()
        return update

    def add_message(self, text: str | None, *, user: dict[str, Any] | None = None,
                    chat: dict[str, Any] | None = None, date: int = 1_780_000_000,
                    **extra: Any) -> dict[str, Any]:
        """Queue a `message` update from `user` in `chat` (private by default)."""
        message: dict[str, Any] = {"message_id": next(self._message_ids),
                                   "from": USER if user is None else user,
                                   "chat": PRIVATE_CHAT if chat is None else chat,
                                   "date": date, **extra}
        if text is not None:
            message["text"] = text
        return self.add_update({"message": message})

    def add_malformed(self) -> dict[str, Any]:
        """Queue an update whose message cannot be read (no chat, a date that is text)."""
        return self.add_update({"message": {"message_id": next(self._message_ids),
                                            "from": USER, "date": "yesterday",
                                            "text": "La farola sigue apagada"}})

    # --- the Bot API ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        if request.match_info["method"] == "sendMessage":
            return await self._send_message(request)
        if request.match_info["method"] == "getMe":
            return web.json_response({"ok": True, "result": {
                "id": 123456, "is_bot": True, "first_name": "Ayuntamiento",
                "username": "ayto_ejemplo_bot"}})
        if request.match_info["method"] != "getUpdates":
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": "Not Found"}, status=404)
        body = await request.json()
        self.requests.append(body)
        if self.flood_retry_after is not None:
            return web.json_response(
                {"ok": False, "error_code": 429,
                 "description": f"Too Many Requests: retry after {self.flood_retry_after}",
                 "parameters": {"retry_after": self.flood_retry_after}}, status=429)
        if self.webhook_set:
            return web.json_response(
                {"ok": False, "error_code": 409,
                 "description": "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first"},
                status=409)
        offset, timeout = int(body.get("offset", 0)), float(body.get("timeout", 0))
        limit = int(body.get("limit", 100))
        pending = self._pending(offset)
        if not pending and timeout > 0:
            arrived = self._arrived
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), timeout)
            pending = self._pending(offset)
        return web.json_response({"ok": True, "result": pending[:limit]})

    async def _send_message(self, request: web.Request) -> web.Response:
        """`sendMessage`: `chat_id` and `text` (1 to 4096 characters) required;
        `reply_parameters` optional. A chat the bot never saw is 400 "chat not found"."""
        body = await request.json()
        text, chat = body.get("text"), str(body.get("chat_id", ""))
        if not isinstance(text, str) or not 1 <= len(text) <= 4096:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: message text is empty"},
                                     status=400)
        known = {str(u["message"]["chat"]["id"]) for u in self.sent_to_bot
                 if isinstance(u.get("message"), dict)
                 and isinstance(u["message"].get("chat"), dict)}
        if chat not in known:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: chat not found"},
                                     status=400)
        self.sent.append(body)
        return web.json_response({"ok": True, "result": {
            "message_id": 9000 + len(self.sent), "chat": {"id": int(chat)}, "text": text,
            "date": 1_780_000_100}})

    def _pending(self, offset: int) -> list[dict[str, Any]]:
        """The updates `offset` asks for, forgetting the ones it confirms."""
        if offset < 0:
            self.updates = self.updates[offset:]
            return list(self.updates)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return list(self.updates)
