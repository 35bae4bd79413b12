"""A local WhatsApp Cloud API for replies: `POST /{version}/{phone-number-id}/messages`,
as Meta documents it (developers.facebook.com/docs/whatsapp/cloud-api/reference/messages):
a Bearer token, `messaging_product: whatsapp`, a text of at most 4,096 characters, and the
24-hour customer service window (error 131047 outside it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class FakeWhatsApp:
    token: str = "EAAG-fake-cloud-api-token"
    phone_number_id: str = "1122334455"
    # Numbers (wa_id) whose last message is older than 24 hours.
    outside_window: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    _server: TestServer | None = None

    async def start(self) -> FakeWhatsApp:
        app = web.Application()
        app.router.add_post("/{version}/{phone}/messages", self._messages)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def api(self) -> str:
        assert self._server is not None and self._server.port is not None
        return f"http://127.0.0.1:{self._server.port}/v21.0"

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"error": {"message": message, "type": "OAuthException",
                                            "code": code, "fbtrace_id": "Afake"}},
                                 status=status)

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401, 190, "Invalid OAuth access token.")
        if request.match_info["phone"] != self.phone_number_id:
            return self._error(400, 100, "Unsupported post request.")
        body = await request.json()
        text = (body.get("text") or {}).get("body")
        if body.get("messaging_product") != "whatsapp" or not isinstance(text, str) \
                or not 1 <= len(text) <= 4096:
            return self._error(400, 100, "Invalid parameter")
        if body.get("to") in self.outside_window:
            return self._error(400, 131047, "Re-engagement message")
        self.sent.append(body)
        return web.json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                  "messages": [{"id": f"wamid.reply{len(self.sent)}"}]})
