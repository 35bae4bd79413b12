"""Replies to pages over MQTT: a chat bridge or a home-made app publishes what the person
typed to a topic, and a reply code in it acknowledges the page.

The listener is a job of the engine (`guardian.engine.loop`). paho-mqtt runs its network
loop in its own thread and reconnects by itself (with back-off) when the broker goes away,
subscribing again on every connection. Each message is queued and the job's loop woken;
a round calls `acknowledge_reply` for each (channel `mqtt`, sender = the topic) and,
unless told not to, publishes the answer sentence to `<topic>/result`. Nothing in a
payload can stop the listener: every message is handled on its own, and a failure is
logged.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.replies import (
    MAX_REPLY_CHARS,
    TOO_LONG_MESSAGE,
    ReplyOutcome,
    ReplyResult,
    acknowledge_reply,
)
from guardian.config.mqtt_url import MqttUrl, parse_mqtt_url
from guardian.config.settings import Settings
from guardian.storage.db import utcnow

log = logging.getLogger(__name__)

RESULT_LEVEL = "result"
# UTF-8 takes at most 4 bytes a character: anything longer is over the limit for sure.
MAX_PAYLOAD_BYTES = 4 * MAX_REPLY_CHARS
FAILED_MESSAGE = ("Guardian could not record the acknowledgement just now; try again in a "
                  "minute, or use the page's link.")
STOP_WAIT_SECONDS = 10.0


class MqttReplies:
    """Listen on an MQTT topic filter for replies to pages and acknowledge them.

    `url` is `mqtt://[user[:password]@]host[:port]/topic/filter` (`mqtts://` for TLS), as
    in `GUARDIAN_MQTT_REPLIES`. With no `client_id` the session is clean and the id random
    (any number of listeners); with one, the broker keeps the session and queues replies
    while the service restarts (give each process its own id). `start()` returns at once:
    an unreachable broker is retried in the background, like a broker that restarts.
    """

    name = "mqtt-replies"

    def __init__(self, url: str | MqttUrl, *, engine: AsyncEngine, secret: str,
                 publish_results: bool = True, client_id: str | None = None,
                 clock: Callable[[], dt.datetime] = utcnow,
                 reconnect_max_seconds: int = 30, keepalive_seconds: int = 30) -> None:
        self.url = url if isinstance(url, MqttUrl) else parse_mqtt_url(url)
        self._engine = engine
        self._secret = secret
        self._publish_results = publish_results
        self._clock = clock
        self._keepalive = keepalive_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: Callable[[], None] | None = None
        self._ready = threading.Event()      # connected and subscribed
        self._stopping = False
        self._started = False
        self._connect_failures = 0
        # Messages from paho's thread, waiting for a round (deque appends are thread-safe).
        self._inbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self.handled = 0                     # messages handed to acknowledge_reply

        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=client_id or f"guardian-replies-{secrets.token_hex(6)}",
                             clean_session=client_id is None, protocol=mqtt.MQTTv311)
        if self.url.username is not None:
            client.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=max(1, reconnect_max_seconds))
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings, engine: AsyncEngine) -> MqttReplies | None:
        """The listener `GUARDIAN_MQTT_REPLIES` asks for; None when it is empty (off)."""
        if not settings.mqtt_replies:
            return None
        return cls(settings.mqtt_replies, engine=engine, secret=settings.secret_key)

    @property
    def connected(self) -> bool:
        """Connected to the broker and subscribed to the topic."""
        return self._ready.is_set()

    async def wait_connected(self, seconds: float) -> bool:
        """Wait until connected and subscribed; False if `seconds` pass first."""
        deadline = time.monotonic() + seconds
        while not self._ready.is_set():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def start(self, wake: Callable[[], None]) -> None:
        """Start the network thread; connecting (and reconnecting) happens there. A message
        calls `wake` for a round that handles it."""
        if self._started:
            raise RuntimeError("MqttReplies.start() was already called")
        self._started = True
        self._loop = asyncio.get_running_loop()
        self._wake = wake
        self._client.connect_async(self.url.host, self.url.port, keepalive=self._keepalive)
        self._client.loop_start()
        log.info("MQTT replies: listening on %s", self.url.masked())

    def stopping(self) -> None:
        """Take no more messages; those already taken are still answered."""
        self._stopping = True

    async def run_once(self) -> int:
        """Handle every message taken since the last round; return how many."""
        taken = []
        while self._inbox:
            taken.append(self._inbox.popleft())
        if taken:
            await asyncio.gather(*(self._handle(topic, payload) for topic, payload in taken))
        return len(taken)

    async def close(self) -> None:
        """Answer the messages already taken (for at most `STOP_WAIT_SECONDS`), then
        disconnect and end the network thread."""
        if not self._started:
            return
        self._stopping = True
        try:
            await asyncio.wait_for(self.run_once(), STOP_WAIT_SECONDS)
        except TimeoutError:
            log.warning("MQTT replies: stopped before every reply was answered")
        await asyncio.to_thread(self._shut_down)
        self._started = False
        log.info("MQTT replies: stopped")

    def _shut_down(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._ready.clear()

    # paho's callbacks, in its network thread. Exceptions must not escape them: paho would
    # end the network thread.

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.warning("MQTT replies: %s refused the connection: %s; retrying",
                        self.url.masked(), reason_code)
            return
        self._connect_failures = 0
        # Subscribing on every connection: a broker that restarted forgot the subscription.
        client.subscribe(self.url.topic, qos=1)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._connect_failures += 1
        if self._connect_failures == 1:
            log.warning("MQTT replies: cannot reach %s; retrying in the background",
                        self.url.masked())

    def _on_disconnect(self, client: mqtt.Client, userdata: Any,
                       flags: mqtt.DisconnectFlags, reason_code: ReasonCode,
                       properties: Properties | None) -> None:
        self._ready.clear()
        if not self._stopping:
            log.warning("MQTT replies: lost %s (%s); reconnecting", self.url.masked(),
                        reason_code)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reason_codes: list[ReasonCode], properties: Properties | None) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("MQTT replies: the broker refused the subscription to %r (%s)",
                      self.url.topic, ", ".join(str(c) for c in reason_codes))
            return
        self._ready.set()
        log.info("MQTT replies: subscribed to %r", self.url.topic)

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        try:
            if self._stopping or self._loop is None or self._wake is None:
                return
            topic = message.topic
            if topic.rsplit("/", 1)[-1] == RESULT_LEVEL:
                return  # our own answers (the filter may cover them)
            if message.retain:
                log.info("MQTT replies: ignoring a retained message on %r (old news)", topic)
                return
            self._inbox.append((topic, bytes(message.payload)))
            self._loop.call_soon_threadsafe(self._wake)
        except Exception:
            log.exception("MQTT replies: could not take a message; it is dropped")

    # On the asyncio loop.

    async def _handle(self, topic: str, payload: bytes) -> None:
        self.handled += 1
        try:
            if len(payload) > MAX_PAYLOAD_BYTES:
                result = ReplyResult(ReplyOutcome.no_code, TOO_LONG_MESSAGE)
            else:
                result = await acknowledge_reply(
                    engine=self._engine, secret=self._secret,
                    text=payload.decode("utf-8", errors="replace"), channel="mqtt",
                    sender=topic, now=self._clock())
            answer = result.message
        except Exception:
            log.exception("MQTT replies: acknowledging a reply from %r failed", topic)
            answer = FAILED_MESSAGE
        if self._publish_results:
            info = self._client.publish(f"{topic}/{RESULT_LEVEL}", answer.encode(), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                log.warning("MQTT replies: could not publish the answer to %r (%s)", topic,
                            mqtt.error_string(info.rc))
