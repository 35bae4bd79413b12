"""Replies to pages over MQTT (acks/mqtt.py), against a real Mosquitto: a reply code
acknowledges, bad payloads are survived, the broker may restart, and the service runs the
listener when its setting asks."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import paho.mqtt.publish as mqtt_publish
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import reply_code
from guardian.acks.mqtt import FAILED_MESSAGE, MqttReplies
from guardian.config.settings import Settings
from guardian.engine.loop import Loop
from guardian.storage.db import create_engine
from guardian.storage.models import Page
from guardian.web.app import init_app
from tests.acks.test_replies import SECRET, _events, _get, _page
from tests.conftest import AiohttpClient, with_settings
from tests.receivers import (
    MQTT_HOST,
    MQTT_PORT,
    REQUIRE_MQTT,
    MqttReceiver,
    closed_port,
    require_mqtt,
    wait_for_count,
)


def _topic() -> str:
    return f"guardian-test/{uuid.uuid4().hex}/replies"


async def _publish(topic: str, payload: str | bytes, *, port: int = MQTT_PORT,
                   retain: bool = False) -> None:
    await asyncio.to_thread(mqtt_publish.single, topic, payload, qos=1, retain=retain,
                            hostname=MQTT_HOST, port=port)


async def _until_acknowledged(engine: AsyncEngine, page_id: int, timeout: float = 10.0
                              ) -> Page:
    deadline = time.monotonic() + timeout
    while True:
        page = await _get(engine, page_id)
        if page.status != "open":
            return page
        if time.monotonic() >= deadline:
            raise AssertionError(f"page {page_id} was not acknowledged within {timeout} s")
        await asyncio.sleep(0.02)


@pytest.fixture
async def results() -> AsyncIterator[MqttReceiver]:
    """A subscriber to the answers the listener publishes (`<topic>/result`)."""
    require_mqtt()
    base = _topic()
    receiver = await asyncio.to_thread(MqttReceiver(topic=f"{base}/+/result").start)
    yield receiver
    await asyncio.to_thread(receiver.stop)


async def test_a_reply_published_on_mqtt_acknowledges_and_bad_payloads_are_survived(
        engine: AsyncEngine, results: MqttReceiver) -> None:
    page_id = await _page(engine)
    base = results.topic.removesuffix("/+/result")
    listener = MqttReplies(f"mqtt://{MQTT_HOST}:{MQTT_PORT}/{base}/#", engine=engine,
                           secret=SECRET)
    loop = Loop(listener)
    running = asyncio.create_task(loop.run())
    try:
        assert await listener.wait_connected(10)
        await _publish(f"{base}/antonio", b"\xff\xfe not text \x00")
        await _publish(f"{base}/antonio", "x" * 5000)
        await _publish(f"{base}/antonio", f"ACK {page_id}-00000000")
        await wait_for_count(results.messages, 3, what="answers to bad replies")
        assert (await _get(engine, page_id)).status == "open"

        await _publish(f"{base}/antonio", f"ok {reply_code(SECRET, page_id, 'antonio')}")
        page = await _until_acknowledged(engine, page_id)
        assert page.acked_by == "reply:antonio"
        assert (await _events(engine, page_id))[-1] == ("acknowledged", "reply:antonio")
        answers = await results.wait_for(4)
        assert {a.topic for a in answers} == {f"{base}/antonio/result"}
        texts = [a.text for a in answers]
        assert sum("No acknowledgement code" in t for t in texts) == 1
        assert sum("longer than 1000" in t for t in texts) == 1
        assert sum("not valid" in t for t in texts) == 1
        assert texts[-1].startswith(f"Page {page_id} acknowledged")
        # Its own answers (under the same filter) are not taken for replies.
        assert listener.handled == 4
    finally:
        loop.stop()
        await running
    assert not listener.connected


async def test_when_the_database_fails_the_listener_answers_so_and_keeps_going(
        tmp_path: Path, results: MqttReceiver) -> None:
    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'guardian.db'}")
    base = results.topic.removesuffix("/+/result")
    listener = MqttReplies(f"mqtt://{MQTT_HOST}:{MQTT_PORT}/{base}/#", engine=broken,
                           secret=SECRET)
    loop = Loop(listener)
    running = asyncio.create_task(loop.run())
    try:
        assert await listener.wait_connected(10)
        for _ in range(2):
            await _publish(f"{base}/antonio", reply_code(SECRET, 1, "antonio"))
        answers = await results.wait_for(2)
        assert all(a.text == FAILED_MESSAGE for a in answers)
        assert listener.connected
    finally:
        loop.stop()
        await running
        await broken.dispose()


def _mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None)


class Broker:
    """A Mosquitto of the test's own on a free port, to stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.port = closed_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                               "persistence false\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, binary: str) -> None:
        self.process = subprocess.Popen([binary, "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the test's Mosquitto did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[Broker, str]]:
    binary = _mosquitto()
    if binary is None:
        reason = ("the mosquitto binary is not installed (`apt-get install mosquitto`); it "
                  "is needed to restart a broker under the listener")
        if REQUIRE_MQTT:
            pytest.fail(reason + " (GUARDIAN_REQUIRE_MQTT=1 makes this mandatory)")
        pytest.skip(reason)
    own = Broker(tmp_path)
    own.start(binary)
    yield own, binary
    own.stop()


async def test_the_listener_reconnects_when_the_broker_restarts(
        engine: AsyncEngine, broker: tuple[Broker, str]) -> None:
    own, binary = broker
    page_id = await _page(engine)
    base = _topic()
    listener = MqttReplies(f"mqtt://127.0.0.1:{own.port}/{base}/#", engine=engine,
                           secret=SECRET, reconnect_max_seconds=1, publish_results=False)
    loop = Loop(listener)
    running = asyncio.create_task(loop.run())
    try:
        assert await listener.wait_connected(10)
        await asyncio.to_thread(own.stop)
        deadline = time.monotonic() + 10
        while listener.connected:
            assert time.monotonic() < deadline, "the listener did not notice the broker go"
            await asyncio.sleep(0.02)
        await asyncio.to_thread(own.start, binary)
        assert await listener.wait_connected(15), "the listener did not reconnect"
        await _publish(f"{base}/carmen", reply_code(SECRET, page_id, "antonio"),
                       port=own.port)
        page = await _until_acknowledged(engine, page_id)
        assert page.acked_by == "reply:antonio"
    finally:
        loop.stop()
        await running


async def test_the_listener_is_built_from_the_setting_and_off_without_it(
        engine: AsyncEngine) -> None:
    assert MqttReplies.from_settings(Settings(), engine) is None
    listener = MqttReplies.from_settings(
        Settings(mqtt_replies="mqtt://broker:1884/guardian/replies/#"), engine)
    assert listener is not None and listener.url.topic == "guardian/replies/#"
    assert not listener.connected
    await listener.close()  # never started: nothing to do


async def test_the_service_listens_for_replies_when_the_setting_asks(
        aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine) -> None:
    """`guardian serve` (and each worker) runs the listener GUARDIAN_MQTT_REPLIES names."""
    require_mqtt()
    base = _topic()
    app = init_app(with_settings(settings, mqtt_replies=f"mqtt://{MQTT_HOST}:{MQTT_PORT}/"
                                                       f"{base}/#"))
    await aiohttp_client(app)
    page_id = await _page(engine)
    code = reply_code(settings.secret_key, page_id, "antonio")
    deadline = time.monotonic() + 10
    while (await _get(engine, page_id)).status == "open":
        # Published until the listener (connecting in the background) has taken one.
        assert time.monotonic() < deadline, "the service did not take the reply"
        await _publish(f"{base}/antonio", f"ok {code}")
        await asyncio.sleep(0.2)
    assert (await _get(engine, page_id)).acked_by == "reply:antonio"


