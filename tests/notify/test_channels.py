"""The sender against real servers on loopback (SMTP by aiosmtpd, MQTT by Mosquitto), and
channel secrets from a secrets file (`GUARDIAN_SECRETS_FILE`)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.secrets import (
    Secrets,
    SecretsFile,
    SecretsFileError,
    parse_secrets,
    secret_source,
)
from guardian.config.settings import Settings, load_settings
from guardian.errors import ConfigError
from guardian.notify.channels import resolve
from guardian.notify.sender import Sender, SenderConfig
from guardian.policy.model import Policy
from guardian.policy_files.loader import load_policy
from guardian.storage import outbox
from guardian.storage.models import DeliveryAttempt, Notification
from guardian.types import NotificationStatus
from tests.conftest import POLICIES
from tests.receivers import JsonReceiver, MqttReceiver, SmtpReceiver, closed_port, require_mqtt

START = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
BODY = "La farola de la calle Real no funciona desde ayer"
SECRET = "fi1e-S3cret-value"


@dataclass
class Clock:
    now: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.now


def policy_with(channels: dict[str, Sequence[str]]) -> Policy:
    """The example policy with some people's channels replaced."""
    base = load_policy(POLICIES).policy  # fresh: a copy would keep built indexes (people)
    assert base is not None
    staff = tuple(s.model_copy(update={"channels": list(channels[s.id])})
                  if s.id in channels else s for s in base.staff)
    return base.model_copy(update={"staff": staff})


def make_sender(engine: AsyncEngine, policy: Policy, clock: Clock,
                environ: Mapping[str, str] | None, **config: int | float) -> Sender:
    settings = SenderConfig(retry_base_seconds=1.0, **config)  # type: ignore[arg-type]
    return Sender(engine=engine, policy=lambda: policy, config=settings, owner="sender",
                  clock=clock, environ=environ)


async def enqueue(engine: AsyncEngine, key: str = "deliver:1:antonio", body: str = BODY
                  ) -> Notification:
    async with engine.begin() as conn:
        return await outbox.enqueue(conn=conn, recipient="antonio", kind="deliver", body=body,
                                    due_at=START, idempotency_key=key, message_id=1)


async def state(engine: AsyncEngine, notification: Notification
                ) -> tuple[Notification, list[DeliveryAttempt]]:
    assert notification.id is not None
    async with engine.connect() as conn:
        found = await outbox.get_notification(conn=conn, notification_id=notification.id)
        attempts = await outbox.list_attempts(conn=conn, notification_id=notification.id)
    assert found is not None
    return found, attempts


async def settle(sender: Sender, clock: Clock, engine: AsyncEngine,
                 notification: Notification) -> Notification:
    """Run the sender, moving the clock to each retry, until the notification settles."""
    for _ in range(20):
        await sender.run_once()
        found, _ = await state(engine, notification)
        if found.status != NotificationStatus.pending.value:
            return found
        clock.now = max(clock.now, found.available_at)
    raise AssertionError("the notification did not settle")


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def mqtt() -> Iterator[MqttReceiver]:
    require_mqtt()
    receiver = MqttReceiver().start()
    yield receiver
    receiver.stop()


# --- e-mail and MQTT, for real ------------------------------------------------------------

async def test_an_email_is_delivered_and_recorded_as_sent_with_a_masked_url(
        engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    smtp = SmtpReceiver(login=("guardian", SECRET)).start()
    try:
        url = smtp.url(to="antonio@town.test", userinfo="guardian:{env:SMTP_PASSWORD}@")
        clock = Clock()
        sender = make_sender(engine, policy_with({"antonio": [url]}), clock,
                             {"SMTP_PASSWORD": SECRET})
        queued = await enqueue(engine)
        assert await sender.drain() == 1
        [mail] = await smtp.wait_for(1)
    finally:
        smtp.stop()

    assert mail.mail_from == "guardian@town.test" and mail.rcpt_tos == ["antonio@town.test"]
    assert mail.login == "guardian" and smtp.refused_logins == 0
    assert mail.subject == "Guardian: deliver"
    assert mail.text is not None and BODY in mail.text
    found, attempts = await state(engine, queued)
    assert found.status == "sent"
    assert [(a.ok, a.channel_index, a.error) for a in attempts] == [(True, 0, None)]
    masked = attempts[0].channel_url_masked
    assert masked.startswith("mailto://guardian:") and f"127.0.0.1:{smtp.port}" in masked
    assert SECRET not in masked and SECRET not in caplog.text


async def test_emails_in_a_row_are_not_held_back_by_the_plugin_throttle(
        engine: AsyncEngine, smtp: SmtpReceiver) -> None:
    # apprise's e-mail plugin waits 5.5 s between two sends of one plugin object; the
    # sender makes a new plugin for every attempt, so consecutive e-mails go at once.
    clock = Clock()
    sender = make_sender(engine, policy_with({"antonio": [smtp.url()]}), clock, {})
    for i in range(3):
        await enqueue(engine, key=f"deliver:{i}:antonio", body=f"{BODY} ({i})")
    started = time.monotonic()
    assert await sender.drain() == 3
    mails = await smtp.wait_for(3)
    assert time.monotonic() - started < 4.0
    assert sorted(m.text.strip() for m in mails if m.text) == [f"{BODY} ({i})" for i in range(3)]


async def test_an_mqtt_message_is_delivered_to_the_broker(
        engine: AsyncEngine, mqtt: MqttReceiver) -> None:
    clock = Clock()
    sender = make_sender(engine, policy_with({"antonio": [mqtt.url()]}), clock, {})
    queued = await enqueue(engine)
    assert await sender.drain() == 1

    [message] = await mqtt.wait_for(1)
    # MQTT has no title: apprise puts it on the first line of the payload.
    assert message.topic == mqtt.topic
    assert message.text.splitlines() == ["Guardian: deliver", BODY]
    found, attempts = await state(engine, queued)
    assert found.status == "sent" and [a.ok for a in attempts] == [True]
    assert attempts[0].channel_url_masked.startswith(f"mqtt://127.0.0.1/{mqtt.topic}")


async def test_a_dead_smtp_server_falls_back_to_mqtt(
        engine: AsyncEngine, mqtt: MqttReceiver, smtp: SmtpReceiver) -> None:
    dead = (f"mailto://127.0.0.1:{closed_port()}/?from=guardian@town.test"
            "&to=antonio@town.test")
    clock = Clock()
    sender = make_sender(engine, policy_with({"antonio": [dead, mqtt.url(qos="1")]}), clock,
                         {}, max_attempts=2)
    queued = await enqueue(engine)

    found = await settle(sender, clock, engine, queued)
    assert found.status == "sent" and found.channel_index == 1
    _, attempts = await state(engine, queued)
    assert [(a.channel_index, a.ok) for a in attempts] == [(0, False), (0, False), (1, True)]
    assert all(a.error for a in attempts[:2])
    [message] = await mqtt.wait_for(1)
    assert message.qos == 1 and BODY in message.text
    assert smtp.received() == []


# --- the secrets file ---------------------------------------------------------------------

def write(path: Path, text: str, *, mtime: float | None = None) -> Path:
    path.write_text(text)
    if mtime is not None:  # file systems with coarse clocks: make the change visible
        os.utime(path, (mtime, mtime))
    return path


def test_a_secrets_file_is_name_value_lines_with_comments() -> None:
    text = ("# channel secrets for Guardian\n\n  HOOK_PASSWORD = s3cret=with=equals \n"
            "QUOTED=\"two words\"\nsingle='x'\nEMPTY=\n# LATER=no\nHOOK_PASSWORD=again\n")
    assert parse_secrets(text, "secrets.env") == {
        "HOOK_PASSWORD": "again", "QUOTED": "two words", "single": "x", "EMPTY": ""}


def test_a_malformed_line_is_named_by_number_and_never_quoted() -> None:
    with pytest.raises(SecretsFileError) as caught:
        parse_secrets("A=1\nthis is my-pa55word\n", "/run/secrets/guardian")
    assert "line 2" in str(caught.value) and "/run/secrets/guardian" in str(caught.value)
    assert "pa55word" not in str(caught.value)


def test_the_environment_wins_over_the_file_and_a_change_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "secrets.env", f"HOOK_PASSWORD={SECRET}\nSMTP_PASSWORD=file\n",
                 mtime=1_700_000_000)
    source = secret_source(Settings(secrets_file=path), {"SMTP_PASSWORD": "from-env"})
    assert resolve("json://g:{env:HOOK_PASSWORD}@h/{env:SMTP_PASSWORD}", source) == (
        f"json://g:{SECRET}@h/from-env")
    assert resolve("json://{env:NOT_ANYWHERE}", source) is None
    assert set(source) == {"HOOK_PASSWORD", "SMTP_PASSWORD"} and len(source) == 2

    write(path, "HOOK_PASSWORD=rotated\n", mtime=1_700_000_100)
    assert source["HOOK_PASSWORD"] == "rotated" and "SMTP_PASSWORD" in source
    assert "SMTP_PASSWORD" not in secret_source(Settings(secrets_file=path), {})
    assert SECRET not in repr(source) and "rotated" not in repr(source)


def test_without_a_secrets_file_the_source_is_the_environment() -> None:
    environ = {"HOOK_PASSWORD": "x"}
    assert secret_source(Settings(), environ) is environ
    assert secret_source(Settings()) is os.environ


def test_a_file_that_breaks_later_keeps_its_last_values_and_logs_no_value(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "secrets.env", f"HOOK_PASSWORD={SECRET}\n", mtime=1_700_000_000)
    source = Secrets(SecretsFile(path), {})
    assert source["HOOK_PASSWORD"] == SECRET

    write(path, f"HOOK_PASSWORD {SECRET}-new\n", mtime=1_700_000_100)  # no `=`
    assert source["HOOK_PASSWORD"] == SECRET
    path.unlink()
    assert source["HOOK_PASSWORD"] == SECRET
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "line 1" in warnings[0] and str(path) in warnings[0]
    assert SECRET not in caplog.text

    write(path, "HOOK_PASSWORD=fixed\n", mtime=1_700_000_200)
    assert source["HOOK_PASSWORD"] == "fixed"


def test_a_missing_or_malformed_secrets_file_stops_the_start(tmp_path: Path) -> None:
    base = {"GUARDIAN_ENV": "development"}
    missing = tmp_path / "nowhere.env"
    with pytest.raises(ConfigError) as caught:
        load_settings({**base, "GUARDIAN_SECRETS_FILE": str(missing)})
    [problem] = caught.value.problems
    assert problem.startswith("GUARDIAN_SECRETS_FILE: ") and str(missing) in problem
    assert problem.endswith(".") and problem.count(". ") == 0  # one sentence

    bad = write(tmp_path / "bad.env", f"OK=1\n{SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({**base, "GUARDIAN_SECRETS_FILE": str(bad)})
    [problem] = caught.value.problems
    assert "line 2" in problem and str(bad) in problem and SECRET not in problem

    good = write(tmp_path / "good.env", "HOOK_PASSWORD=x\n")
    settings = load_settings({**base, "GUARDIAN_SECRETS_FILE": str(good)})
    assert settings.secrets_file == good
    assert load_settings(base).secrets_file is None


@pytest.mark.parametrize("via", ["secret_source", "environment variable"])
async def test_a_secret_from_the_file_is_used_but_never_stored_or_logged(
        engine: AsyncEngine, receiver: JsonReceiver, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, via: str) -> None:
    caplog.set_level(logging.DEBUG)
    path = write(tmp_path / "secrets.env", f"# Guardian\nHOOK_PASSWORD={SECRET}\n")
    monkeypatch.delenv("HOOK_PASSWORD", raising=False)
    if via == "secret_source":  # what the service passes: the environment over the file
        environ = secret_source(Settings(secrets_file=path))
    else:  # no mapping at all: `resolve` reads GUARDIAN_SECRETS_FILE from the environment
        monkeypatch.setenv("GUARDIAN_SECRETS_FILE", str(path))
        environ = None
    receiver.fail_first = 1
    clock = Clock()
    url = receiver.url(userinfo="guardian:{env:HOOK_PASSWORD}@")
    sender = make_sender(engine, policy_with({"antonio": [url]}), clock, environ)
    queued = await enqueue(engine)

    found = await settle(sender, clock, engine, queued)
    assert found.status == "sent"
    expected = base64.b64encode(f"guardian:{SECRET}".encode()).decode()
    assert [p.authorization for p in receiver.posts] == [f"Basic {expected}"]
    _, attempts = await state(engine, queued)
    assert [a.ok for a in attempts] == [False, True]
    for attempt in attempts:
        assert SECRET not in attempt.channel_url_masked
        assert SECRET not in (attempt.error or "")
        assert attempt.channel_url_masked.startswith("json://guardian:")
    assert SECRET not in (found.last_error or "") and SECRET not in found.body
    assert SECRET not in caplog.text
