"""The notifier loop: rounds in flight at once deliver each notification once, `wake()`
sends at once what a poll would only find later, and `stop()` ends it promptly."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.notifier import Notifier
from guardian.engine.timeline import DutyTimeline
from guardian.notify.digest import DigestComposer
from guardian.notify.sender import Sender, SenderConfig
from guardian.policy.model import Policy
from guardian.storage import outbox
from guardian.storage.db import utcnow
from tests.notify.test_sender import policy_with
from tests.receivers import JsonReceiver, wait_for_count

BASE = "https://guardian.town.test"


def notifier(engine: AsyncEngine, policy: Policy, *, poll_seconds: float, concurrency: int,
             batch_size: int = 16) -> Notifier:
    timeline = DutyTimeline(engine, lambda: policy)
    sender = Sender(engine=engine, policy=lambda: policy,
                    config=SenderConfig(batch_size=batch_size), duty=None)
    return Notifier(sender, DigestComposer(engine, timeline.availability, BASE),
                    poll_seconds=poll_seconds, concurrency=concurrency)


async def enqueue(engine: AsyncEngine, numbers: range) -> None:
    async with engine.begin() as conn:
        for n in numbers:
            await outbox.enqueue(conn=conn, recipient="antonio", kind="deliver",
                                 body=f"aviso {n}", due_at=utcnow(),
                                 idempotency_key=f"service:{n}")


async def test_rounds_in_flight_deliver_each_notification_once(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    policy = policy_with({"antonio": [receiver.url()]})
    await enqueue(engine, range(60))
    loop = notifier(engine, policy, poll_seconds=0.05, concurrency=3, batch_size=4)
    running = asyncio.create_task(loop.run())
    try:
        await wait_for_count(receiver.posts, 60, timeout=30, what="notifications")
        await asyncio.sleep(0.3)  # a few more rounds: nothing is sent again
    finally:
        loop.stop()
        await asyncio.wait_for(running, 10)
    bodies = Counter(p.json["message"] for p in receiver.posts)
    assert len(bodies) == 60 and set(bodies.values()) == {1}


async def test_wake_sends_at_once_what_the_poll_would_find_later(
        engine: AsyncEngine, receiver: JsonReceiver) -> None:
    policy = policy_with({"antonio": [receiver.url()]})
    loop = notifier(engine, policy, poll_seconds=60, concurrency=2)
    running = asyncio.create_task(loop.run())
    try:
        await asyncio.sleep(0.2)  # both rounds found nothing and sleep for a minute
        await enqueue(engine, range(1))
        started = time.monotonic()
        loop.wake()
        await wait_for_count(receiver.posts, 1, timeout=10, what="the woken notification")
        assert time.monotonic() - started < 10
    finally:
        stopping = time.monotonic()
        loop.stop()
        await asyncio.wait_for(running, 10)
    assert time.monotonic() - stopping < 5  # stop() does not wait for the poll
    assert [p.json["message"] for p in receiver.posts] == ["aviso 0"]


async def test_a_notifier_needs_at_least_one_round(engine: AsyncEngine) -> None:
    policy = policy_with({})
    with pytest.raises(ValueError, match="concurrency"):
        notifier(engine, policy, poll_seconds=1, concurrency=0)
