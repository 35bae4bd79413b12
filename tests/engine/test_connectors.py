"""The `connectors` job on both databases, against local servers speaking each network's
API (tests/fakes): the feed is stored once across restarts and crashes, one process of many
runs each connector, networks that ask us to wait are left alone, failures are recorded and
never stop the feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.connectors import Connectors, backoff_seconds
from guardian.policy.model import Connector, Policy
from guardian.storage.connectors import (
    LeaseLost,
    advance,
    connector_state_table,
    connector_states,
    set_cursor,
)
from guardian.storage.messages import messages_table
from tests.conftest import example_policy
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.fakes.x import FakeX

START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class Feed:
    """One network's fake, the connector entry that reads it, and a way to post to it."""

    spec: Connector
    environ: dict[str, str]
    post: Callable[[str], object]
    requests: Callable[[], int]
    close: Callable[[], Awaitable[None]]
    fake: Any = None
    posted: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.posted.append(text)
        self.post(text)


async def _feed(kind: str) -> Feed:
    if kind == "bluesky":
        bsky = await FakeBluesky().start()
        return Feed(Connector(id="bsky-town", kind="bluesky", url=bsky.service,
                              account=bsky.identifier, password="{env:BSKY_PASSWORD}",
                              poll_seconds=1),
                    {"BSKY_PASSWORD": bsky.password}, lambda t: bsky.add_post(t),
                    lambda: len(bsky.calls("app.bsky.notification.listNotifications")),
                    bsky.close, bsky)
    if kind == "x":
        x = await FakeX().start()
        return Feed(Connector(id="x-town", kind="x", url=x.api, account=x.user_id,
                              token="{env:X_TOKEN}", poll_seconds=1),
                    {"X_TOKEN": x.bearer_token}, lambda t: x.add_mention(t),
                    lambda: len(x.requests), x.close, x)
    if kind == "mastodon":
        mastodon = await FakeMastodon().start()
        return Feed(Connector(id="mastodon-town", kind="mastodon", url=mastodon.instance,
                              token="{env:MASTODON_TOKEN}", poll_seconds=1),
                    {"MASTODON_TOKEN": mastodon.access_token},
                    lambda t: mastodon.add_mention(t),
                    lambda: len(mastodon.calls("/api/v1/notifications")), mastodon.close,
                    mastodon)
    telegram = await FakeTelegram().start()
    # poll_seconds under 1: no long poll (the fake would hold each empty poll open).
    return Feed(Connector(id="tg-town", kind="telegram", url=telegram.api,
                          token="{env:TG_TOKEN}", poll_seconds=0.5),
                {"TG_TOKEN": telegram.token}, lambda t: telegram.add_message(t),
                lambda: len(telegram.requests), telegram.close, telegram)


KINDS = ["mastodon", "bluesky", "x", "telegram"]


@pytest.fixture(params=KINDS)
async def feed(request: pytest.FixtureRequest) -> AsyncIterator[Feed]:
    made = await _feed(str(request.param))
    yield made
    await made.close()


def _source(feed: Feed) -> str:
    """The messages' source: the network's feed name (X's mentions are `twitter`)."""
    return "twitter" if feed.spec.kind == "x" else feed.spec.kind


def _policy(*specs: Connector) -> Policy:
    return example_policy().model_copy(update={"connectors": specs})


def _job(engine: AsyncEngine, feed: Feed, clock: Clock, owner: str,
         woken: list[int] | None = None) -> Connectors:
    policy = _policy(feed.spec)
    return Connectors(engine, lambda: policy, environ=feed.environ, clock=clock, owner=owner,
                      wake_pipeline=lambda: woken.append(1) if woken is not None else None)


async def _texts(engine: AsyncEngine, source: str) -> list[str]:
    m = messages_table.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(m.text).where(m.source == source).order_by(m.id))
    return list(rows.scalars())


async def _state(engine: AsyncEngine, name: str) -> Any:
    [state] = [s for s in await connector_states(engine=engine) if s.name == name]
    return state


async def test_a_feed_is_stored_once_across_a_restart_and_a_crash(
        engine: AsyncEngine, feed: Feed) -> None:
    """The first run starts from now; then each mention is stored once, oldest first, and
    neither a clean restart nor a process that died holding the lease loses or repeats
    one (the cursor moves only with the messages it follows)."""
    clock, source = Clock(), _source(feed)
    feed.post("Una mención de antes de conectar")  # history: never read
    woken: list[int] = []
    first = _job(engine, feed, clock, "a", woken)
    assert await first.run_once() == 0
    feed.add("La farola de la calle Real no funciona")
    feed.add("Hay basura junto al contenedor de la plaza")
    clock.advance(1)
    assert await first.run_once() == 2 and woken
    # A clean restart: the lease is handed back, a new process carries on at once.
    await first.close()
    feed.add("Quisiera reservar la sala del centro cívico")
    second = _job(engine, feed, clock, "b")
    assert await second.run_once() == 1
    # A crash: the process dies holding its lease; another takes over when it ends.
    feed.add("El semáforo de la avenida parpadea")
    third = _job(engine, feed, clock, "c")
    clock.advance(1)
    assert await third.run_once() == 0  # "b" still holds the lease
    clock.advance(61)
    assert await third.run_once() == 1
    await third.close()
    await second.close()  # what remained of the dead process (its lease is gone already)
    texts = await _texts(engine, source)
    assert [t for t in texts if "antes de conectar" in t] == []
    assert len(texts) == len(set(texts)) == 4
    for posted, stored in zip(feed.posted, texts, strict=True):
        assert posted in stored
    state = await _state(engine, feed.spec.id)
    assert (state.events, state.failures, state.last_error) == (4, 0, None)


async def test_one_process_of_many_runs_a_connector(engine: AsyncEngine, feed: Feed) -> None:
    clock = Clock()
    one, other = _job(engine, feed, clock, "one"), _job(engine, feed, clock, "other")
    feed.post("Una mención de antes de conectar")
    assert await one.run_once() == 0  # takes the lease, starts from now
    before = feed.requests()
    feed.add("La farola de la calle Real no funciona")
    clock.advance(2)
    assert await other.run_once() == 0 and feed.requests() == before
    assert await one.run_once() == 1
    await one.close()
    await other.close()
    assert len(await _texts(engine, _source(feed))) == 1


async def test_a_failing_network_is_retried_later_and_the_error_is_shown(
        engine: AsyncEngine) -> None:
    """A 5xx backs off (5 s, then doubling) with the error in the connector's status; a
    429 waits as long as the network says; then the feed resumes where it was."""
    x = await FakeX().start()
    try:
        clock = Clock()
        spec = Connector(id="x-town", kind="x", url=x.api, account=x.user_id,
                         token="{env:X_TOKEN}", poll_seconds=1)
        feed = Feed(spec, {"X_TOKEN": x.bearer_token}, lambda t: x.add_mention(t),
                    lambda: len(x.requests), x.close, x)
        job = _job(engine, feed, clock, "a")
        x.add_mention("Antes")
        await job.run_once()
        x.add_mention("La farola de la calle Real no funciona")
        x.fail_status = 503
        clock.advance(1)
        assert await job.run_once() == 0
        state = await _state(engine, "x-town")
        assert state.failures == 1 and "503" in (state.last_error or "")
        assert state.wait_until == clock.now + dt.timedelta(seconds=backoff_seconds(1))
        requests = x.requests[:]
        clock.advance(4)
        assert await job.run_once() == 0 and x.requests == requests  # still waiting
        x.fail_status = None
        x.rate_limited = True
        x.reset_at = int((clock.now + dt.timedelta(seconds=120)).timestamp())
        clock.advance(2)
        assert await job.run_once() == 0
        state = await _state(engine, "x-town")
        assert state.failures == 2 and "rate limited" in (state.last_error or "")
        assert state.wait_until is not None
        assert 110 <= (state.wait_until - clock.now).total_seconds() <= 120
        x.rate_limited = False
        x.remaining = x.limit
        clock.advance(121)
        assert await job.run_once() == 1
        state = await _state(engine, "x-town")
        assert (state.failures, state.wait_until, state.events) == (0, None, 1)
        await job.close()
    finally:
        await x.close()


async def test_unreadable_events_are_skipped_and_counted_and_text_is_made_storable(
        engine: AsyncEngine) -> None:
    telegram = await FakeTelegram().start()
    try:
        clock = Clock()
        spec = Connector(id="tg-town", kind="telegram", url=telegram.api,
                         token="{env:TG_TOKEN}", poll_seconds=0.5)
        feed = Feed(spec, {"TG_TOKEN": telegram.token}, lambda t: telegram.add_message(t),
                    lambda: len(telegram.requests), telegram.close, telegram)
        job = _job(engine, feed, clock, "a")
        await job.run_once()
        telegram.add_malformed()
        # A NUL would make PostgreSQL refuse the whole batch, and the feed stop there.
        telegram.add_message("La farola\x00 de la calle Real no funciona")
        telegram.add_message("x" * 6000)  # longer than GUARDIAN_MAX_TEXT_CHARS
        telegram.add_message("Hay basura junto al contenedor")
        clock.advance(1)
        assert await job.run_once() == 2
        texts = await _texts(engine, "telegram")
        assert texts == ["La farola\ufffd de la calle Real no funciona",
                         "Hay basura junto al contenedor"]
        state = await _state(engine, "tg-town")
        assert (state.events, state.skipped) == (2, 2)
        await job.close()
    finally:
        await telegram.close()


async def test_a_connector_whose_secret_is_missing_does_not_run(engine: AsyncEngine) -> None:
    telegram = await FakeTelegram().start()
    try:
        spec = Connector(id="tg-town", kind="telegram", url=telegram.api,
                         token="{env:TG_TOKEN}", poll_seconds=0.5)
        policy = _policy(spec)
        job = Connectors(engine, lambda: policy, environ={}, clock=Clock(), owner="a")
        assert await job.run_once() == 0 and telegram.requests == []
        await job.close()
    finally:
        await telegram.close()


async def test_new_credentials_are_picked_up_and_a_missing_one_is_said_once(
        engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    """A refused token is retried slowly (15 minutes: retrying sooner will not help); the
    corrected secret (environment or secrets file) is used at the next round, without a
    restart. A secret not set at all is logged once, not at every round."""
    telegram = await FakeTelegram().start()
    try:
        clock = Clock()
        spec = Connector(id="tg-town", kind="telegram", url=telegram.api,
                         token="{env:TG_TOKEN}", poll_seconds=0.5)
        policy = _policy(spec)
        environ: dict[str, str] = {}
        job = Connectors(engine, lambda: policy, environ=environ, clock=clock, owner="a")
        for _ in range(3):
            assert await job.run_once() == 0
            clock.advance(1)
        missing = [r for r in caplog.records if "TG_TOKEN not set" in r.getMessage()]
        assert len(missing) == 1 and telegram.requests == []
        environ["TG_TOKEN"] = "999:wrong"
        assert await job.run_once() == 0
        state = await _state(engine, "tg-town")
        assert state.failures == 1 and "refused" in (state.last_error or "")
        assert state.wait_until == clock.now + dt.timedelta(minutes=15)
        assert "999:wrong" not in (state.last_error or "")
        environ["TG_TOKEN"] = telegram.token
        clock.advance(15 * 60 + 1)
        assert await job.run_once() == 0  # the first run: from now
        telegram.add_message("La farola de la calle Real no funciona")
        clock.advance(1)
        assert await job.run_once() == 1
        await job.close()
    finally:
        await telegram.close()


async def test_a_cursor_moved_during_a_round_wins(engine: AsyncEngine) -> None:
    """`connectors backfill` while a round is in flight: that round's messages and cursor
    are dropped (one transaction), and the next round reads from the backfilled cursor."""
    async with engine.begin() as conn:
        await conn.execute(connector_state_table.insert().values(
            name="m", kind="mastodon", cursor="10", lease_owner="a"))
    await set_cursor(engine=engine, name="m", kind="mastodon", cursor="since:2026-12-01")
    with pytest.raises(LeaseLost):
        async with engine.begin() as conn:
            await advance(conn=conn, name="m", owner="a", cursor="12", events=2, skipped=0,
                          now=START, last_event_at=None, fetched_from="10")
    assert (await _state(engine, "m")).cursor == "since:2026-12-01"
