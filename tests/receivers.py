"""Real receivers on loopback for notification tests: apprise sends to them for real."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Post:
    path: str
    json: Any
    authorization: str | None


@dataclass
class JsonReceiver:
    """An HTTP server that records JSON posts (apprise's `json://`); the first `fail_first`
    requests are answered 500, as by a service that is down and then recovers."""

    fail_first: int = 0
    requests: int = 0
    posts: list[Post] = field(default_factory=list)
    _server: TestServer | None = None

    async def start(self) -> JsonReceiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.port is not None
        return self._server.port

    def url(self, path: str = "hook", userinfo: str = "") -> str:
        """An apprise URL for this receiver (`userinfo` like `user:{env:NAME}@`)."""
        return f"json://{userinfo}127.0.0.1:{self.port}/{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.requests <= self.fail_first:
            return web.json_response({"error": "down for maintenance"}, status=500)
        self.posts.append(Post(request.path, await request.json(),
                               request.headers.get("Authorization")))
        return web.json_response({"ok": True})


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
