"""The notification outbox and its sender, against real HTTP receivers on loopback."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.notify.sender import Sender, SenderConfig, SendResult
from guardian.policy.model import Policy
from guardian.policy_files.loader import load_policy
from guardian.storage import outbox
from guardian.storage.models import DeliveryAttempt, Notification
from guardian.types import NotificationStatus
from tests.conftest import POLICIES
from tests.receivers import JsonReceiver, closed_port

START = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
SECRET = "s3cr3t-Pa55word"


@dataclass
class Clock:
    now: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def policy_with(channels: dict[str, Sequence[str]]) -> Policy:
    """The example policy, with the channels of some people replaced."""
    base = load_policy(POLICIES).policy  # fresh: its cached indexes are not built yet
    assert base is not None
    staff = tuple(s.model_copy(update={"channels": list(channels[s.id])})
                  if s.id in channels else s for s in base.staff)
    return base.model_copy(update={"staff": staff})


def sender(engine: AsyncEngine, policy: Policy, clock: Clock, name: str = "sender",
           **config: object) -> Sender:
    settings = SenderConfig(retry_base_seconds=1.0, **config)  # type: ignore[arg-type]
    return Sender(engine=engine, policy=lambda: policy, config=settings, owner=name,
                  clock=clock, environ={"HOOK_PASSWORD": SECRET})


async def enqueue(engine: AsyncEngine, key: str = "deliver:1:antonio",
                  recipient: str = "antonio", body: str = "La farola de la calle Real"
                  ) -> Notification:
    async with engine.begin() as conn:
        return await outbox.enqueue(conn=conn, recipient=recipient, kind="deliver", body=body,
                                    due_at=START, idempotency_key=key, message_id=1)


async def state(engine: AsyncEngine, notification_id: int | None
                ) -> tuple[Notification, list[DeliveryAttempt]]:
    assert notification_id is not None
    async with engine.connect() as conn:
        found = await outbox.get_notification(conn=conn, notification_id=notification_id)
        attempts = await outbox.list_attempts(conn=conn, notification_id=notification_id)
    assert found is not None
    return found, attempts


async def settle(s: Sender, clock: Clock, engine: AsyncEngine, notification_id: int | None,
                 rounds: int = 20) -> Notification:
    """Run the sender, moving the clock to each retry, until the notification settles."""
    for _ in range(rounds):
        await s.run_once()
        found, _ = await state(engine, notification_id)
        if found.status != NotificationStatus.pending.value:
            return found
        clock.now = max(clock.now, found.available_at)
    raise AssertionError("the notification did not settle")


async def test_a_notification_is_delivered_once_and_recorded(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    clock = Clock()
    s = sender(engine, policy_with({"antonio": [receiver.url()]}), clock)
    queued = await enqueue(engine)
    assert queued.status == "pending" and queued.channel_index == 0

    assert await s.drain() == 1
    assert [p.json["message"] for p in receiver.posts] == ["La farola de la calle Real"]
    assert receiver.posts[0].path == "/hook"
    found, attempts = await state(engine, queued.id)
    assert found.status == "sent" and found.sent_at == START and found.lease_owner is None
    assert [(a.ok, a.channel_index, a.error) for a in attempts] == [(True, 0, None)]
    assert attempts[0].channel_url_masked.startswith(f"json://127.0.0.1:{receiver.port}/hook")

    # Nothing is sent again: not now, not after any lease would have expired.
    assert await s.drain() == 0
    clock.advance(86_400)
    assert await s.drain() == 0
    assert len(receiver.posts) == 1


async def test_a_failing_receiver_is_retried_with_growing_waits(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    receiver.fail_first = 3
    clock = Clock()
    s = sender(engine, policy_with({"antonio": [receiver.url()]}), clock, max_attempts=5)
    queued = await enqueue(engine)

    waits: list[float] = []
    for _ in range(3):
        assert await s.run_once() == 1
        found, _ = await state(engine, queued.id)
        assert found.status == "pending" and found.attempts == len(waits) + 1
        assert found.last_error
        waits.append((found.available_at - clock.now).total_seconds())
        assert await s.run_once() == 0  # not due before its back-off has passed
        clock.now = found.available_at
    assert await s.run_once() == 1

    assert 1.0 <= waits[0] <= 1.25 and 2.0 <= waits[1] <= 2.5 and 4.0 <= waits[2] <= 5.0
    assert waits == sorted(waits) and len(set(waits)) == 3
    found, attempts = await state(engine, queued.id)
    assert found.status == "sent" and found.attempts == 4
    assert [a.ok for a in attempts] == [False, False, False, True]
    assert receiver.requests == 4 and len(receiver.posts) == 1


async def test_a_dead_channel_falls_back_to_the_next(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    dead = f"json://127.0.0.1:{closed_port()}/hook"
    clock = Clock()
    s = sender(engine, policy_with({"antonio": [dead, receiver.url("second")]}), clock,
               max_attempts=2)
    queued = await enqueue(engine)

    found = await settle(s, clock, engine, queued.id)
    assert found.status == "sent" and found.channel_index == 1
    _, attempts = await state(engine, queued.id)
    assert [(a.channel_index, a.ok) for a in attempts] == [(0, False), (0, False), (1, True)]
    assert [p.path for p in receiver.posts] == ["/second"]


async def test_when_every_channel_fails_the_last_resort_contact_is_told(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    dead = f"json://127.0.0.1:{closed_port()}/hook"
    clock = Clock()
    policy = policy_with({"antonio": [dead, "json://{env:UNSET_HOOK}"],
                          "lucia": [receiver.url("admin")]})  # lucia is the last resort
    s = sender(engine, policy, clock, max_attempts=2)
    queued = await enqueue(engine)

    # Every channel failed: an outage, not the end. Tried again later, Lucía told once.
    for _ in range(3):
        await s.run_once()
        found, _ = await state(engine, queued.id)
        clock.now = max(clock.now, found.available_at)
    found, attempts = await state(engine, queued.id)
    assert found.status == "pending" and "every channel failed" in (found.last_error or "")
    # The channel whose secret is not set is not retried: no retry will set it.
    assert [(a.channel_index, a.ok) for a in attempts[:3]] == [(0, False), (0, False),
                                                                 (1, False)]
    assert "{env:UNSET_HOOK}" in attempts[2].channel_url_masked

    async with engine.connect() as conn:
        alert = await outbox.get_by_key(conn=conn, idempotency_key=f"admin_alert:{queued.id}:lucia")
    assert alert is not None and alert.recipient == "lucia" and alert.kind == "admin_alert"
    await s.drain()
    assert [p.path for p in receiver.posts] == ["/admin"]
    # In lucia's language (Spanish), naming the notification and the person.
    assert f"n.º {queued.id}" in receiver.posts[0].json["message"]
    assert "antonio" in receiver.posts[0].json["message"]
    # Past the kind's expiry (a message: three days), it is failed for good; still one
    # alert.
    clock.now = START + policy.delivery.expiry("deliver") + dt.timedelta(minutes=1)
    found = await settle(s, clock, engine, queued.id, rounds=10)
    assert found.status == "failed"
    await s.drain()
    assert [p.path for p in receiver.posts] == ["/admin"]


async def test_a_channel_down_for_hours_then_back_gets_everything_once_in_order(
        engine: AsyncEngine) -> None:
    """The receiver refuses for longer than every retry; nothing is dropped, and when it
    comes back the backlog goes out once each, in the order it was queued."""
    down = JsonReceiver(fail_first=10_000)
    await down.start()
    try:
        clock = Clock()
        policy = policy_with({"antonio": [down.url("antonio")],
                              "lucia": [down.url("lucia")]})
        s = sender(engine, policy, clock, max_attempts=2)
        queued = [await enqueue(engine, key=f"deliver:{n}:antonio",
                                body=f"La farola {n} de la calle Real") for n in range(5)]
        for _ in range(40):  # three hours of retries
            await s.run_once()
            clock.advance(300)
        assert down.posts == []
        for item in queued:
            found, _ = await state(engine, item.id)
            assert found.status == "pending"
        down.fail_first = 0  # back
        clock.advance(600)
        await s.drain()
        delivered = [p.json["message"] for p in down.posts if p.path == "/antonio"]
        assert [next(n for n in range(5) if f"farola {n} " in m) for m in delivered] == [
            0, 1, 2, 3, 4]
        await s.drain()
        clock.advance(3600)
        await s.drain()
        assert len([p for p in down.posts if p.path == "/antonio"]) == 5
    finally:
        await down.close()


async def test_a_webhook_header_secret_never_reaches_the_delivery_log(
        engine: AsyncEngine, receiver: JsonReceiver, caplog: pytest.LogCaptureFixture) -> None:
    """`json://…?+X-Api-Key={env:…}`: the key is sent as a header, and the delivery log
    shows the URL with the header's value masked (apprise's privacy URL keeps it)."""
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    url = receiver.url() + "?+X-Api-Key={env:HOOK_PASSWORD}"
    s = sender(engine, policy_with({"antonio": [url]}), clock)
    queued = await enqueue(engine)
    found = await settle(s, clock, engine, queued.id)
    assert found.status == "sent"
    assert receiver.posts
    _, attempts = await state(engine, queued.id)
    [attempt] = attempts
    assert SECRET not in attempt.channel_url_masked
    assert "X-Api-Key=***" in attempt.channel_url_masked
    assert SECRET not in caplog.text


async def test_a_webhook_gets_the_idempotency_key_to_drop_a_repeat(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    """A send whose answer was lost is sent again (at least once): the receiver gets the
    same `Idempotency-Key` header both times, and can keep one."""
    clock = Clock()
    s = sender(engine, policy_with({"antonio": [receiver.url()]}), clock)
    queued = await enqueue(engine, key="deliver:42:antonio")
    found = await settle(s, clock, engine, queued.id)
    assert found.status == "sent"
    [post] = receiver.posts
    assert post.idempotency_key == "deliver:42:antonio"


async def test_the_lease_follows_a_slow_send_so_no_one_else_takes_it(
        engine: AsyncEngine) -> None:
    """A short lease, renewed while the send is in progress: another sender does not
    take a notification whose send is slow but alive (it would after a dead sender's
    lease, without the renewals), and it is sent once."""
    sends: list[int] = []

    async def slow(channel: str, notification: Notification) -> SendResult:
        await asyncio.sleep(2.5)
        sends.append(notification.id or 0)
        return SendResult(True, "json://slow", None, 2500.0)

    policy = policy_with({"antonio": ["json://127.0.0.1/slow"]})
    config = SenderConfig(lease_seconds=1.0)
    first = Sender(engine=engine, policy=lambda: policy, config=config, owner="first",
                   transport=slow)
    second = Sender(engine=engine, policy=lambda: policy, config=config, owner="second",
                    transport=slow)
    async with engine.begin() as conn:
        queued = await outbox.enqueue(conn=conn, recipient="antonio", kind="deliver",
                                      body="La farola", due_at=dt.datetime.now(dt.UTC),
                                      idempotency_key="slow:1", message_id=1)
    sending = asyncio.create_task(first.run_once())
    await asyncio.sleep(1.6)  # past the first lease: only its renewals keep it
    assert await second.run_once() == 0
    assert await sending == 1
    assert sends == [queued.id]


async def test_a_restart_between_claim_and_send_delivers_exactly_once(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    clock = Clock()
    policy = policy_with({"antonio": [receiver.url()]})
    first = sender(engine, policy, clock, name="first", lease_seconds=60)
    second = sender(engine, policy, clock, name="second", lease_seconds=60)
    queued = await enqueue(engine)

    # The first sender claims, then "dies" before sending: only its lease is left.
    claimed, lease = await outbox.claim_due(engine, clock(), 10, 60, owner="first")
    assert [n.id for n in claimed] == [queued.id]
    assert await second.drain() == 0           # leased: nobody else takes it
    clock.advance(61)
    assert await second.drain() == 1           # the lease expired: taken again, sent
    assert len(receiver.posts) == 1

    # The first sender wakes up with its stale claim: it sends nothing, records nothing.
    assert await first.process(claimed[0], lease) is False
    clock.advance(3600)
    assert await first.drain() == 0 and await second.drain() == 0
    assert len(receiver.posts) == 1
    found, attempts = await state(engine, queued.id)
    assert found.status == "sent" and len(attempts) == 1


async def test_concurrent_senders_send_each_notification_once(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    clock = Clock()
    policy = policy_with({"antonio": [receiver.url()]})
    senders = [sender(engine, policy, clock, name=f"s{i}", batch_size=3) for i in range(3)]
    for i in range(12):
        await enqueue(engine, key=f"deliver:{i}:antonio", body=f"message {i}")

    await asyncio.gather(*(s.drain() for s in senders))
    assert sorted(p.json["message"] for p in receiver.posts) == sorted(
        f"message {i}" for i in range(12))
    async with engine.connect() as conn:
        sent = (await conn.execute(select(func.count()).select_from(outbox.notifications_table)
                                   .where(outbox.notifications_table.c.status == "sent"))
                ).scalar_one()
        attempts = (await conn.execute(select(func.count())
                                       .select_from(outbox.attempts_table))).scalar_one()
    assert sent == 12 and attempts == 12


async def test_enqueue_is_idempotent_on_its_key(engine: AsyncEngine) -> None:
    first = await enqueue(engine, body="first")
    again = await enqueue(engine, body="second")
    assert again.id == first.id and again.body == "first"
    other = await enqueue(engine, key="deliver:2:antonio")
    assert other.id != first.id
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count())
                                    .select_from(outbox.notifications_table))).scalar_one()
    assert count == 2


async def test_a_secret_in_a_channel_url_is_used_but_never_stored_or_logged(
        engine: AsyncEngine, receiver: JsonReceiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.fail_first = 1
    clock = Clock()
    url = receiver.url(userinfo="guardian:{env:HOOK_PASSWORD}@")
    s = sender(engine, policy_with({"antonio": [url]}), clock)
    queued = await enqueue(engine)

    found = await settle(s, clock, engine, queued.id)
    assert found.status == "sent"
    # The secret reached the receiver (so it was filled in)...
    expected = base64.b64encode(f"guardian:{SECRET}".encode()).decode()
    assert receiver.posts[0].authorization == f"Basic {expected}"
    # ...and is nowhere in the delivery log, the row, or the logs.
    _, attempts = await state(engine, queued.id)
    assert len(attempts) == 2
    for attempt in attempts:
        assert SECRET not in attempt.channel_url_masked
        assert SECRET not in (attempt.error or "")
        assert attempt.channel_url_masked.startswith("json://guardian:")
    assert SECRET not in (found.last_error or "") and SECRET not in found.body
    assert SECRET not in caplog.text
