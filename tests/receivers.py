"""Real receivers on loopback for notification tests: apprise sends to them for real.

- `JsonReceiver`: an HTTP server for `json://` URLs (asyncio, in the test's loop).
- `SmtpReceiver`: an aiosmtpd server for `mailto://` URLs (its own thread).
- `MqttReceiver`: a paho-mqtt subscriber on the Mosquitto at 127.0.0.1:1883, for `mqtt://`
  URLs; `require_mqtt()` skips a test when no broker answers, or fails it when
  GUARDIAN_REQUIRE_MQTT=1 (as CI sets).
- `wait_until` / `wait_for_count`: poll for an arrival against a deadline (no fixed sleeps).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from paho.mqtt.enums import CallbackAPIVersion

MQTT_HOST = os.environ.get("GUARDIAN_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("GUARDIAN_TEST_MQTT_PORT", "1883"))
REQUIRE_MQTT = os.environ.get("GUARDIAN_REQUIRE_MQTT") == "1"


@dataclass
class Post:
    path: str
    json: Any
    authorization: str | None
    idempotency_key: str | None = None


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
                               request.headers.get("Authorization"),
                               request.headers.get("Idempotency-Key")))
        return web.json_response({"ok": True})


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- waiting ----------------------------------------------------------------------------

async def wait_until(predicate: Callable[[], bool], *, timeout: float = 5.0,
                     what: str = "the condition") -> None:
    """Poll `predicate` until it holds; fail with `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.01)


async def wait_for_count(items: Sized, count: int, *, timeout: float = 5.0,
                         what: str = "items") -> None:
    """Wait until `items` (a receiver's list) holds at least `count` entries."""
    await wait_until(lambda: len(items) >= count, timeout=timeout,
                     what=f"{count} {what} arriving (got {len(items)})")


# --- e-mail -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    subject: str
    text: str | None   # the text/plain part, decoded
    html: str | None   # the text/html part, decoded
    message: EmailMessage
    login: str | None  # the user the client logged in as, if it did


class _MailHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = message_from_bytes(data, policy=email_policy.default)
        assert isinstance(message, EmailMessage)
        parts = {}
        for kind in ("plain", "html"):
            part = message.get_body(preferencelist=(kind,))
            parts[kind] = part.get_content() if part is not None else None
        with self.receiver.lock:
            self.receiver.messages.append(Mail(
                mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos),
                subject=str(message.get("Subject", "")), text=parts["plain"],
                html=parts["html"], message=message,
                login=session.auth_data.login.decode() if isinstance(
                    session.auth_data, LoginPassword) else None))
        return "250 Message accepted for delivery"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        expected = self.receiver.login
        ok = (expected is not None and isinstance(auth_data, LoginPassword)
              and (auth_data.login.decode(), auth_data.password.decode()) == expected)
        if not ok:
            self.receiver.refused_logins += 1
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@dataclass
class SmtpReceiver:
    """A plain SMTP server (no TLS) on a free loopback port, in its own thread, that keeps
    every message it accepts. `url()` is the apprise URL that reaches it. With `login`
    (user, password) it offers AUTH without TLS and refuses any other login."""

    login: tuple[str, str] | None = None
    refused_logins: int = 0
    messages: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None
    _port: int = 0

    def start(self) -> SmtpReceiver:
        # aiosmtpd cannot bind port 0 (it connects to its port to check it started), so a
        # free port is picked first; another process could take it meanwhile: retry.
        for attempt in range(5):
            port = closed_port()
            handler = _MailHandler(self)
            auth: dict[str, Any] = {} if self.login is None else {
                # AUTH offered without TLS (loopback only); not required, since aiosmtpd
                # warns about requiring it without TLS: `Mail.login` says who logged in.
                "authenticator": handler.authenticate, "auth_require_tls": False}
            controller = Controller(handler, hostname="127.0.0.1", port=port,
                                    server_hostname="receiver.town.test", ready_timeout=5.0,
                                    **auth)
            try:
                controller.start()
            except (OSError, TimeoutError, RuntimeError):
                if attempt == 4:
                    raise
                continue
            self._controller, self._port = controller, port
            return self
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def port(self) -> int:
        assert self._port, "the SMTP receiver is not started"
        return self._port

    def url(self, to: str = "staff@town.test", sender: str = "guardian@town.test",
            userinfo: str = "") -> str:
        """apprise's URL for this server. `mailto://` is plain SMTP (no STARTTLS; apprise's
        `mode=insecure` is already the default for it); `from=` gives the sender address,
        which apprise otherwise makes from the user and host. `userinfo` is e.g.
        `guardian:{env:SMTP_PASSWORD}@` for a receiver with a login."""
        return f"mailto://{userinfo}127.0.0.1:{self.port}/?from={sender}&to={to}"

    def received(self) -> list[Mail]:
        with self.lock:
            return list(self.messages)

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Mail]:
        await wait_for_count(self.messages, count, timeout=timeout, what="e-mails")
        return self.received()


# --- MQTT -------------------------------------------------------------------------------

def mqtt_available(host: str = MQTT_HOST, port: int = MQTT_PORT, timeout: float = 1.0) -> bool:
    """Whether an MQTT broker accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_mqtt() -> None:
    """Skip the calling test without a broker (fail it when GUARDIAN_REQUIRE_MQTT=1)."""
    if mqtt_available():
        return
    reason = (f"no MQTT broker answers at {MQTT_HOST}:{MQTT_PORT}; start Mosquitto (`mosquitto "
              "-d`, or `apt-get install mosquitto`), or point GUARDIAN_TEST_MQTT_HOST and "
              "GUARDIAN_TEST_MQTT_PORT at one, to run these tests")
    if REQUIRE_MQTT:
        pytest.fail(reason + " (GUARDIAN_REQUIRE_MQTT=1 makes this mandatory)")
    pytest.skip(reason)


@dataclass(frozen=True)
class MqttMessage:
    topic: str
    payload: bytes
    qos: int

    @property
    def text(self) -> str:
        return self.payload.decode()


@dataclass
class MqttReceiver:
    """A subscriber to a topic of its own on the broker; `start()` returns once the broker
    has confirmed the subscription, so nothing published afterwards is missed."""

    host: str = MQTT_HOST
    port: int = MQTT_PORT
    topic: str = field(default_factory=lambda: f"guardian-test/{uuid.uuid4().hex}")
    messages: list[MqttMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _client: mqtt.Client | None = None
    _subscribed: threading.Event = field(default_factory=threading.Event)

    def start(self, timeout: float = 5.0) -> MqttReceiver:
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"guardian-test-{uuid.uuid4().hex[:12]}")
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        self._client = client
        if not self._subscribed.wait(timeout):
            self.stop()
            raise AssertionError(f"the MQTT broker at {self.host}:{self.port} did not confirm "
                                 f"the subscription to {self.topic} within {timeout} s")
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def url(self, **query: str) -> str:
        """apprise's URL publishing to this receiver's topic (e.g. `qos="1"`)."""
        params = "&".join(f"{k}={v}" for k, v in query.items())
        return f"mqtt://{self.host}:{self.port}/{self.topic}" + (f"?{params}" if params else "")

    def received(self) -> list[MqttMessage]:
        with self.lock:
            return list(self.messages)

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[MqttMessage]:
        await wait_for_count(self.messages, count, timeout=timeout, what="MQTT messages")
        return self.received()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        client.subscribe(self.topic, qos=1)  # again after a reconnect, too

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(MqttMessage(message.topic, bytes(message.payload),
                                             message.qos))
