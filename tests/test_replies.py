"""Acknowledging a page by replying on the channel: reply codes, the gateway endpoint
(JSON and Twilio's form) and the MQTT listener, against real databases and Mosquitto."""

from __future__ import annotations

import asyncio
import datetime as dt
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

from guardian.acks.links import parse_reply, reply_code, reply_matches
from guardian.acks.mqtt import FAILED_MESSAGE, MqttReplies
from guardian.acks.replies import ReplyOutcome, acknowledge_reply
from guardian.config.mqtt_url import parse_mqtt_url
from guardian.config.settings import Settings, load_settings
from guardian.engine.loop import Loop
from guardian.errors import ConfigError
from guardian.storage.db import create_engine
from guardian.storage.models import Page
from guardian.storage.pages import Step, advance_due, get_page, open_page, page_events
from guardian.types import Role
from guardian.web.app import init_app
from guardian.web.keys import settings_key
from tests.conftest import AiohttpClient, Client, bearer, with_settings
from tests.receivers import (
    MQTT_HOST,
    MQTT_PORT,
    REQUIRE_MQTT,
    MqttReceiver,
    closed_port,
    require_mqtt,
    wait_for_count,
)

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
PLAN = [Step("antonio", 15), Step("carmen", 15)]
SECRET = "a-secret-key-for-the-reply-tests-0123456789"
PATH = "/api/v1/replies"


async def _page(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        page, _ = await open_page(conn=conn, team="lighting", reason="Cable caído", plan=PLAN,
                                  last_resort="lucia", now=T0)
    return page.id or 0


async def _get(engine: AsyncEngine, page_id: int) -> Page:
    async with engine.connect() as conn:
        found = await get_page(conn=conn, page_id=page_id)
    assert found is not None
    return found


async def _events(engine: AsyncEngine, page_id: int) -> list[tuple[str, str | None]]:
    async with engine.connect() as conn:
        return [(e.kind, e.actor) for e in await page_events(conn=conn, page_id=page_id)]


def _code(client: Client, page_id: int, person: str) -> str:
    return reply_code(client.app[settings_key].secret_key, page_id, person)


# --- codes ------------------------------------------------------------------------------

def test_a_reply_code_names_the_page_and_is_found_in_free_text() -> None:
    code = reply_code(SECRET, 12, "antonio")
    assert code.startswith("ACK 12-") and len(code) == len("ACK 12-") + 8
    mac = code.split("-")[1]
    for text in (code, code.lower(), f"ok {code.lower()} thanks", f"12-{mac}",
                 f"  Ack   12-{mac.upper()}!", f"vale, ACK 12 - {mac}", f"ACK 12\u2013{mac}",
                 f"recibido\n\nACK 12-{mac}\n--\nenviado desde mi móvil"):
        assert parse_reply(text) == (12, mac), text
    for text in ("", "ok", "ACK 12", "ACK 12-4f9a2b7", f"x12-{mac}", f"12-{mac}0",
                 f"1234567890-{mac}", f"12-{mac[:-1]}g"):
        assert parse_reply(text) is None, text
    assert reply_matches(SECRET, 12, "antonio", mac)
    assert reply_matches(SECRET, 12, "antonio", mac.upper())
    assert not reply_matches(SECRET, 12, "carmen", mac)
    assert not reply_matches(SECRET, 13, "antonio", mac)
    assert not reply_matches("another secret of sufficient length!!", 12, "antonio", mac)
    assert not reply_matches(SECRET, 12, "antonio", "ñ" * 8)


async def test_the_code_of_someone_not_yet_paged_or_of_another_page_is_refused(
        engine: AsyncEngine) -> None:
    page_id = await _page(engine)
    other = await _page(engine)

    async def reply(text: str) -> ReplyOutcome:
        result = await acknowledge_reply(engine=engine, secret=SECRET, text=text,
                                         channel="test", sender=None, now=T0)
        return result.outcome

    # Carmen is on the plan but not paged yet; Antonio's code for the other page.
    assert await reply(reply_code(SECRET, page_id, "carmen")) == ReplyOutcome.invalid_code
    assert await reply(f"ACK {page_id}-{reply_code(SECRET, other, 'antonio')[-8:]}") == (
        ReplyOutcome.invalid_code)
    assert await reply("x" * 1001 + reply_code(SECRET, page_id, "antonio")) == (
        ReplyOutcome.no_code)
    assert (await _get(engine, page_id)).status == "open"
    assert await reply(reply_code(SECRET, page_id, "antonio")) == ReplyOutcome.acknowledged


# --- the gateway endpoint ---------------------------------------------------------------

async def test_a_json_reply_acknowledges_the_page_and_a_second_one_is_told(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    code = _code(client, page_id, "antonio")
    sent = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "sms", "from": "+34600000001", "text": f"ok {code.lower()} thanks"})
    assert sent.status == 200
    body = await sent.json()
    assert body["result"] == "acknowledged" and body["page_id"] == page_id
    assert "acknowledged" in body["message"]
    page = await _get(engine, page_id)
    assert (page.status, page.acked_by) == ("acknowledged", "reply:antonio")
    assert (await _events(engine, page_id))[-1] == ("acknowledged", "reply:antonio")
    assert await advance_due(engine=engine, now=T0 + dt.timedelta(hours=2)) == []

    again = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "sms", "from": "+34600000001", "text": code})
    assert again.status == 200
    body = await again.json()
    assert body["result"] == "already_acknowledged"
    assert "already acknowledged" in body["message"]
    assert [k for k, _ in await _events(engine, page_id)] == ["paged", "acknowledged"]


async def test_a_twilio_form_reply_acknowledges(client: Client, engine: AsyncEngine,
                                               tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    form = {"From": "+34600000001", "To": "+34900000000", "MessageSid": "SM" + "0" * 32,
            "AccountSid": "AC" + "0" * 32, "NumMedia": "0",
            "Body": f"Recibido {_code(client, page_id, 'antonio')}"}
    sent = await client.post(PATH, headers=bearer(tokens[Role.ingest]), data=form)
    assert sent.status == 200, await sent.text()
    assert (await sent.json())["result"] == "acknowledged"
    assert (await _get(engine, page_id)).acked_by == "reply:antonio"

    missing = await client.post(PATH, headers=bearer(tokens[Role.ingest]),
                                data={"From": "+34600000001"})
    assert missing.status == 422
    assert (await missing.json())["error"]["errors"] == [
        {"field": "Body", "message": "is required."}]


async def test_a_wrong_code_is_422_leaves_the_page_open_and_reveals_nothing(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    mac = _code(client, page_id, "antonio")[-8:]
    wrong = "0" * 8 if mac != "0" * 8 else "1" * 8
    headers = bearer(tokens[Role.ingest])

    forged = await client.post(PATH, headers=headers, json={
        "channel": "sms", "text": f"ACK {page_id}-{wrong}"})
    assert forged.status == 422
    error = (await forged.json())["error"]
    assert error["code"] == "invalid_code" and error["errors"][0]["field"] == "text"
    assert (await _get(engine, page_id)).status == "open"
    assert await _events(engine, page_id) == [("paged", None)]

    # A page that does not exist gets the very same answer.
    absent = await client.post(PATH, headers=headers, json={
        "channel": "sms", "text": f"ACK {page_id + 1000}-{mac}"})
    assert absent.status == 422 and (await absent.json())["error"] == error

    nothing = await client.post(PATH, headers=headers, json={"channel": "sms",
                                                             "text": "vale, voy"})
    assert nothing.status == 422
    assert (await nothing.json())["error"]["code"] == "no_code"

    long = await client.post(PATH, headers=headers, json={"channel": "sms",
                                                          "text": "a" * 1001})
    assert long.status == 422 and (await long.json())["error"]["errors"][0]["field"] == "text"
    unknown = await client.post(PATH, headers=headers, json={"channel": "sms", "text": "x",
                                                             "to": "+34900000000"})
    assert unknown.status == 422
    not_json = await client.post(PATH, headers=headers, data=b"ACK 1-00000000")
    assert not_json.status == 415
    assert (await _get(engine, page_id)).status == "open"


async def test_the_code_of_an_escalated_step_acknowledges_and_a_closed_page_says_so(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    [escalated] = await advance_due(engine=engine, now=T0 + dt.timedelta(minutes=15))
    assert escalated.person == "carmen"
    sent = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "telegram", "from": "@carmen", "text": _code(client, page_id, "carmen")})
    assert sent.status == 200 and (await sent.json())["result"] == "acknowledged"
    assert (await _get(engine, page_id)).acked_by == "reply:carmen"

    # A page whose chain ran out is closed: the code is right, nothing changes.
    exhausted = await _page(engine)
    for minutes in (15, 30):
        await advance_due(engine=engine, now=T0 + dt.timedelta(minutes=minutes))
    assert (await _get(engine, exhausted)).status == "exhausted"
    late = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "sms", "text": _code(client, exhausted, "antonio")})
    assert late.status == 200 and (await late.json())["result"] == "closed"
    assert (await _get(engine, exhausted)).status == "exhausted"


async def test_replies_need_a_gateway_token(client: Client, engine: AsyncEngine,
                                            tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    body = {"channel": "sms", "text": _code(client, page_id, "antonio")}
    assert (await client.post(PATH, json=body)).status == 401
    assert (await client.post(PATH, json=body, headers=bearer("nonsense"))).status == 401
    for role in (Role.staff, Role.hr, Role.moderator):
        assert (await client.post(PATH, json=body, headers=bearer(tokens[role]))).status == 403
    assert (await _get(engine, page_id)).status == "open"
    document = await (await client.get("/api/v1/openapi.json",
                                       headers=bearer(tokens[Role.ingest]))).json()
    operation = document["paths"][PATH]["post"]
    assert operation["x-roles"] == ["admin", "ingest"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json", "application/x-www-form-urlencoded"}


# --- settings ---------------------------------------------------------------------------

def test_the_mqtt_replies_setting_is_checked_at_start() -> None:
    base = {"GUARDIAN_ENV": "development"}
    assert load_settings(base).mqtt_replies == ""
    good = "mqtt://guardian:p%40ss@broker:1884/guardian/replies/#"
    assert load_settings({**base, "GUARDIAN_MQTT_REPLIES": good}).mqtt_replies == good
    url = parse_mqtt_url(good)
    assert (url.host, url.port, url.topic, url.username, url.password) == (
        "broker", 1884, "guardian/replies/#", "guardian", "p@ss")
    assert "p@ss" not in url.masked() and "p@ss" not in repr(url)
    assert parse_mqtt_url("mqtts://broker/$share/guardian/replies/+").port == 8883
    for bad in ("http://broker/x", "mqtt://broker", "mqtt://broker:1883/", "mqtt://:1/x",
                "mqtt://broker:99999/x", "mqtt://broker/a/#/b", "mqtt://broker/a+"):
        with pytest.raises(ConfigError) as caught:
            load_settings({**base, "GUARDIAN_MQTT_REPLIES": bad})
        assert caught.value.problems[0].startswith("GUARDIAN_MQTT_REPLIES: ")


# --- MQTT -------------------------------------------------------------------------------

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
