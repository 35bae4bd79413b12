"""The API's ingest path (`guardian.storage.messages.Ingest`): the rows `store_messages`
writes, idempotent between concurrent requests, announced to other processes after its
commit, and a lost or cancelled connection costs one request, not the next ones."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from guardian.schemas import MessageIn
from guardian.storage import messages
from guardian.storage.db import async_url, create_engine
from guardian.storage.messages import CHANNEL, Ingest, messages_table, store_messages
from tests.conftest import Database, message

NOW = dt.datetime(2026, 12, 6, 10, 30, tzinfo=dt.UTC)


def _in(external_id: str, **fields: object) -> MessageIn:
    return MessageIn.model_validate(message(external_id, **fields))


@pytest.fixture
async def ingest(engine: AsyncEngine) -> AsyncIterator[Ingest]:
    ingest = Ingest(engine, connections=4)
    yield ingest
    await ingest.close()


@pytest.fixture
async def pg_engine(postgres_database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_database.url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pg_ingest(pg_engine: AsyncEngine) -> AsyncIterator[Ingest]:
    ingest = Ingest(pg_engine, connections=4)
    yield ingest
    await ingest.close()


async def _rows(engine: AsyncEngine, source: str) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(messages_table).where(
            messages_table.c.source == source).order_by(messages_table.c.external_id)
        )).mappings().all()
    return [dict(r) for r in rows]


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages_table)))
                   .scalar_one())


async def test_it_writes_the_rows_store_messages_writes(engine: AsyncEngine,
                                                        ingest: Ingest) -> None:
    """Every column, from `_row`, through each column type's own conversion: a column
    added there arrives here with nothing else to change."""
    extra = {"url": "https://x.example/p/1", "in_reply_to": "99", "lang": "es",
             "mentions": ["@antonio_luz", "@ayto"], "author": {"handle": "@a", "name": "Ñ"}}
    fast = [_in("1", source="fast", **extra), _in("2", source="fast", text="Otra “cosa”")]
    slow = [_in("1", source="slow", **extra), _in("2", source="slow", text="Otra “cosa”")]
    await ingest.store(messages=fast, now=NOW, priorities=[3, 0], notify=False)
    async with engine.begin() as conn:
        await store_messages(conn=conn, messages=slow, now=NOW, priorities=[3, 0])
    ours, theirs = await _rows(engine, "fast"), await _rows(engine, "slow")
    assert len(ours) == 2
    for mine, reference in zip(ours, theirs, strict=True):
        assert {k: v for k, v in mine.items() if k not in ("id", "source")} == \
            {k: v for k, v in reference.items() if k not in ("id", "source")}


async def test_repeats_answer_the_first_id_in_order(engine: AsyncEngine,
                                                    ingest: Ingest) -> None:
    [first] = await ingest.store(messages=[_in("a")], now=NOW, notify=False)
    assert not first.duplicate
    again = await ingest.store(messages=[_in("b"), _in("a", text="edited"), _in("b")],
                               now=NOW, notify=False)
    assert [(s.external_id, s.duplicate) for s in again] == [("b", False), ("a", True),
                                                             ("b", True)]
    assert again[1].id == first.id and again[0].id == again[2].id
    assert await _count(engine) == 2
    assert await ingest.store(messages=[], now=NOW, notify=False) == []


async def test_concurrent_repeats_store_one_row(engine: AsyncEngine, ingest: Ingest) -> None:
    """More requests than connections, all with the same key (and a new one each): the
    unique constraint decides, every answer names the one row."""
    answers = await asyncio.gather(*(
        ingest.store(messages=[_in("same"), _in(f"own-{i}")], now=NOW, notify=False)
        for i in range(12)))
    same = [a[0] for a in answers]
    assert len({s.id for s in same}) == 1
    assert sum(not s.duplicate for s in same) == 1
    assert not any(a[1].duplicate for a in answers)
    assert await _count(engine) == 13


async def _notifications(url: str) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql")
                                 .render_as_string(hide_password=False))
    heard: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[2]))
    return conn, heard


async def test_new_messages_are_announced_after_commit(
        postgres_database: Database, pg_engine: AsyncEngine, pg_ingest: Ingest) -> None:
    """A process without a worker tells the others (PostgreSQL NOTIFY), once the rows are
    visible; nothing for duplicates only, nor when told not to."""
    listener, heard = await _notifications(postgres_database.url)
    try:
        await pg_ingest.store(messages=[_in("n1")], now=NOW, notify=True)
        await asyncio.wait_for(heard.get(), timeout=10)
        assert await _count(pg_engine) == 1  # announced after the commit, not before
        await pg_ingest.store(messages=[_in("n1")], now=NOW, notify=True)   # a duplicate
        await pg_ingest.store(messages=[_in("n2")], now=NOW, notify=False)  # a worker here
        await asyncio.sleep(0.3)
        assert heard.empty()
        await asyncio.gather(*(pg_ingest.store(messages=[_in(f"burst-{i}")], now=NOW,
                                            notify=True) for i in range(20)))
        await pg_ingest.close()  # sends what is still to announce
        await asyncio.sleep(0.2)
        # The burst needs at least one announcement, and one at a time covers many.
        assert 1 <= heard.qsize() <= 20
    finally:
        await listener.close()


async def test_a_lost_connection_costs_at_most_one_request(
        pg_engine: AsyncEngine, pg_ingest: Ingest) -> None:
    """The server drops ingest's connections (a restart, an administrator): those found
    closed are never used again, one that fails under a request is dropped with every
    idle one, and the next requests open new connections and succeed."""
    await asyncio.gather(*(pg_ingest.store(messages=[_in(f"warm-{i}")], now=NOW, notify=False)
                           for i in range(8)))
    async with pg_engine.connect() as conn:
        killed = (await conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query LIKE 'INSERT INTO messages%'"))).scalar_one()
    assert killed >= 1
    await asyncio.sleep(0.2)
    failures = 0
    for i in range(3):
        try:
            await pg_ingest.store(messages=[_in(f"after-{i}")], now=NOW, notify=False)
        except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError):
            failures += 1
    assert failures <= 1
    assert await _count(pg_engine) == 8 + 3 - failures


async def test_a_cancelled_request_leaves_no_half_used_connection(
        engine: AsyncEngine, ingest: Ingest) -> None:
    """A request cancelled while its statement runs: the connection is not handed to the
    next request in an unknown state."""
    task = asyncio.create_task(ingest.store(messages=[_in("c1")], now=NOW, notify=False))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = await ingest.store(messages=[_in("c1"), _in("c2")], now=NOW, notify=False)
    assert [s.external_id for s in stored] == ["c1", "c2"]
    assert await _count(engine) == 2


async def test_a_batch_too_large_for_one_statement_takes_one_transaction(
        postgres_database: Database, pg_engine: AsyncEngine, pg_ingest: Ingest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past asyncpg's arguments for one statement, SQLAlchemy's path: the same answers,
    and still announced."""
    monkeypatch.setattr(messages, "_MAX_ARGUMENTS", 40)  # fewer than 3 rows' worth
    listener, heard = await _notifications(postgres_database.url)
    try:
        await pg_ingest.store(messages=[_in("x")], now=NOW, notify=False)
        stored = await pg_ingest.store(messages=[_in("x"), _in("y"), _in("z"), _in("y")],
                                       now=NOW, notify=True)
        assert [(s.external_id, s.duplicate) for s in stored] == [
            ("x", True), ("y", False), ("z", False), ("y", True)]
        await asyncio.wait_for(heard.get(), timeout=10)
    finally:
        await listener.close()
    assert await _count(pg_engine) == 3


async def test_a_connection_kept_past_the_pool_recycle_time_is_renewed(
        postgres_database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest keeps its connections out of the pool, so it hands one back once it has
    kept it for the pool's recycle time, for the pool to renew."""
    async def backend(driver: asyncpg.Connection) -> int:
        return int(await driver.fetchval("SELECT pg_backend_pid()"))

    # An engine whose pool renews a connection at every checkout.
    engine = create_async_engine(async_url(postgres_database.url), pool_recycle=0)
    ingest = Ingest(engine)
    try:
        first = await ingest._on_connection(backend)
        assert await ingest._on_connection(backend) == first  # kept, not checked out
        monkeypatch.setattr(messages, "_RECYCLE_SECONDS", -1.0)  # as if half an hour passed
        assert await ingest._on_connection(backend) != first
    finally:
        await ingest.close()
        await engine.dispose()
