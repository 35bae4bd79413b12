"""Data access for messages and their stage events (the tables `messages` and
`stage_events`): ingest, the pipeline's work queue, what the decision stage remembers.
Keyword-only functions."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Insert, and_, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.schemas import MessageIn
from guardian.storage.db import utcnow
from guardian.storage.models import Message, StageEvent
from guardian.types import DEFAULT_PRIORITY, FINAL_STAGE, PIPELINE, Stage

log = logging.getLogger(__name__)
T = TypeVar("T")

messages_table = Message.__table__  # type: ignore[attr-defined]
events_table = StageEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Stored:
    id: int
    source: str
    external_id: str
    duplicate: bool


def _build_insert(dialect: str) -> Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(messages_table)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(messages_table.c.id, messages_table.c.source, messages_table.c.external_id)
    )


# Built once per dialect and executed with the rows as parameters, so SQLAlchemy compiles it
# once; `.values(rows)` would be compiled anew for every request (half of ingest's CPU).
_INSERTS = {dialect: _build_insert(dialect) for dialect in ("postgresql", "sqlite")}


def _row(message: MessageIn, now: dt.datetime, priority: int = DEFAULT_PRIORITY
         ) -> dict[str, object]:
    return {
        "source": message.source,
        "external_id": message.external_id,
        "author_handle": message.author.handle,
        "author_name": message.author.name,
        "text": message.text,
        "lang": message.lang,
        "mentions": list(message.mentions),
        "in_reply_to": message.in_reply_to,
        "url": message.url,
        "created_at": message.created_at,
        "received_at": now,
        "priority": priority,
        "stage": Stage.received.value,
        "available_at": now,
        "attempts": 0,
        "stage_times": {Stage.received.value: now.isoformat()},
    }


Key = tuple[str, str]  # (source, external_id): unique


@dataclass(frozen=True)
class _Plan:
    """What one ingest inserts: each message's key, the first index of each key (a key
    repeated in one request is stored once), and the rows of those firsts."""

    keys: list[Key]
    first_of_key: dict[Key, int]
    rows: list[dict[str, object]]

    def answer(self, created: Mapping[Key, int], existing: Mapping[Key, int]) -> list[Stored]:
        """One `Stored` per message, in order: new only for the first of a key inserted now."""
        result = []
        for index, key in enumerate(self.keys):
            is_new = key in created and self.first_of_key[key] == index
            ident = created.get(key) or existing[key]
            result.append(Stored(id=ident, source=key[0], external_id=key[1],
                                 duplicate=not is_new))
        return result


def _plan(messages: Sequence[MessageIn], now: dt.datetime,
          priorities: Sequence[int] | None) -> _Plan:
    keys = [(m.source, m.external_id) for m in messages]
    first_of_key: dict[Key, int] = {}
    for index, key in enumerate(keys):
        first_of_key.setdefault(key, index)
    rows = [_row(messages[i], now, priorities[i] if priorities else DEFAULT_PRIORITY)
            for i in sorted(first_of_key.values())]
    return _Plan(keys, first_of_key, rows)


async def store_messages(*, conn: AsyncConnection, messages: Sequence[MessageIn],
                         now: dt.datetime | None = None,
                         priorities: Sequence[int] | None = None) -> list[Stored]:
    """Insert what is new, keep what exists; answer one `Stored` per input, in order.
    `priorities`: each message's triage (guardian.engine.triage), `normal` without.

    Idempotent on (source, external_id), also between concurrent requests: the database's
    unique constraint decides, `ON CONFLICT DO NOTHING` keeps the first.
    """
    plan = _plan(messages, now or utcnow(), priorities)
    statement = _INSERTS[conn.dialect.name]
    created = {(r.source, r.external_id): r.id
               for r in await conn.execute(statement, plan.rows)}
    missing = [k for k in plan.first_of_key if k not in created]
    existing: dict[Key, int] = {}
    if missing:
        found = await conn.execute(
            select(messages_table.c.id, messages_table.c.source, messages_table.c.external_id)
            .where(tuple_(messages_table.c.source, messages_table.c.external_id).in_(missing))
        )
        existing = {(r.source, r.external_id): r.id for r in found}
    return plan.answer(created, existing)


# --- the API's ingest (`POST /api/v1/messages`) ------------------------------------------
#
# On PostgreSQL it bypasses SQLAlchemy's execution layers (greenlets, statement cache,
# result objects) and its transaction: one multi-row `INSERT … ON CONFLICT DO NOTHING
# RETURNING` on the driver's connection, in autocommit (a single statement is atomic: all
# of a request's messages or none). A request is one round trip instead of four (BEGIN,
# INSERT, NOTIFY, COMMIT); see docs/performance.md. The rows still come from `_row`, and
# each value goes through its column type's own bind processor, so a column added there
# needs nothing here.

# The ids of the keys that existed (duplicates): a second statement, so that it sees rows
# committed by a concurrent request that the insert waited for.
_EXISTING = (f"SELECT id, source, external_id FROM {messages_table.name} "
             "JOIN unnest($1::text[], $2::text[]) AS k(source, external_id) "
             "USING (source, external_id)")
# What asyncpg passes in one statement (GUARDIAN_MAX_BATCH has no ceiling of its own).
_MAX_ARGUMENTS = 32767
# The engine pool's `pool_recycle` (guardian/storage/db.py): ingest's connections are
# renewed as often as the pool's.
_RECYCLE_SECONDS = 1800.0


@functools.lru_cache(maxsize=128)
def _ingest_sql(dialect: Dialect, columns: tuple[str, ...], rows: int) -> str:
    """The insert of `rows` rows of `columns` ($1, $2… row after row)."""
    quote = dialect.identifier_preparer.quote
    width = len(columns)
    values = ", ".join(
        "(" + ", ".join(f"${row * width + i}" for i in range(1, width + 1)) + ")"
        for row in range(rows))
    return (f"INSERT INTO {quote(messages_table.name)} ({', '.join(map(quote, columns))}) "
            f"VALUES {values} ON CONFLICT (source, external_id) DO NOTHING "
            "RETURNING id, source, external_id")


@functools.lru_cache(maxsize=16)
def _binders(dialect: Dialect, columns: tuple[str, ...]
             ) -> tuple[Callable[[Any], Any] | None, ...]:
    """Each column's bind processor for `dialect`: what SQLAlchemy would apply (JSON to
    text, UTC datetimes...)."""
    return tuple(messages_table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
                 for c in columns)


class Ingest:
    """The API's ingest: `store_messages` committed on its own, then, when asked
    (`notify`: no worker in this process to wake) and something was new, `announce`.

    On PostgreSQL it keeps up to `connections` of the engine's connections for itself and
    uses their asyncpg connection directly: checking a connection out of SQLAlchemy's pool
    for each request cost more than the insert's own Python, and requests beyond the
    pool's size opened (and closed) a connection each, a PostgreSQL process every time.
    Requests past `connections` wait for one to come back, as in any pool. A connection
    found broken is dropped with every idle one (as SQLAlchemy invalidates its pool on a
    disconnect): the request fails, the next ones open new connections.

    The announcement follows the insert's commit instead of riding in its transaction: a
    transaction that notifies holds a database-wide lock through its commit (PostgreSQL
    queues notifications in commit order), so every ingest waited for the one before it
    to reach the disk. One announcement is sent at a time, from the background, and covers
    every message committed before it started; a message committed meanwhile gets another.
    Should the process die in between, the workers' poll finds the message.

    `close()` sends what is still to announce and gives the connections back; call it
    before the engine is disposed.
    """

    def __init__(self, engine: AsyncEngine, *, connections: int = 10) -> None:
        self._engine = engine
        self._postgresql = engine.dialect.name == "postgresql"
        self._slots = asyncio.Semaphore(connections)
        # Each with its asyncpg connection (asking SQLAlchemy for it costs a greenlet) and
        # when it was taken from the engine's pool.
        self._idle: list[tuple[AsyncConnection, Any, float]] = []
        self._to_announce = False
        self._announcer: asyncio.Task[None] | None = None

    async def store(self, *, messages: Sequence[MessageIn], now: dt.datetime,
                    priorities: Sequence[int] | None = None, notify: bool) -> list[Stored]:
        if not messages:
            return []
        plan = _plan(messages, now, priorities) if self._postgresql else None
        columns = tuple(plan.rows[0]) if plan else ()
        if plan is None or len(plan.rows) * len(columns) > _MAX_ARGUMENTS:
            # SQLite (one process: nothing to announce), or a batch too large for one
            # statement: SQLAlchemy's path, in one transaction.
            async with self._engine.begin() as conn:
                stored = await store_messages(conn=conn, messages=messages, now=now,
                                              priorities=priorities)
            if notify and plan and not all(s.duplicate for s in stored):
                self._announce()
            return stored
        dialect = self._engine.dialect
        binders = _binders(dialect, columns)
        params = [value if bind is None else bind(value) for row in plan.rows
                  for bind, value in zip(binders, row.values(), strict=True)]
        sql = _ingest_sql(dialect, columns, len(plan.rows))

        async def insert(driver: Any) -> tuple[dict[Key, int], dict[Key, int]]:
            created = {(r[1], r[2]): r[0] for r in await driver.fetch(sql, *params)}
            missing = [k for k in plan.first_of_key if k not in created]
            existing: dict[Key, int] = {}
            if missing:
                existing = {(r[1], r[2]): r[0] for r in await driver.fetch(
                    _EXISTING, [k[0] for k in missing], [k[1] for k in missing])}
            return created, existing

        created, existing = await self._on_connection(insert)
        if notify and created:
            self._announce()
        return plan.answer(created, existing)

    async def _on_connection(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work(asyncpg connection)` on one of ingest's connections, in autocommit."""
        async with self._slots:
            conn, driver, taken = await self._connection()
            try:
                result = await work(driver)
            except BaseException as exc:
                if isinstance(exc, asyncpg.PostgresError) and not driver.is_closed():
                    self._idle.append((conn, driver, taken))  # the server answered: sound
                else:
                    # Lost, or cancelled mid-statement: this connection is in an unknown
                    # state, and the others may be lost too (the server restarted).
                    idle, self._idle = self._idle, []
                    await _drop([conn, *(c for c, _, _ in idle)])
                raise
            self._idle.append((conn, driver, taken))
            return result

    async def _connection(self) -> tuple[AsyncConnection, Any, float]:
        """An idle connection still open (asyncpg knows, without a round trip, when the
        server has closed one), else one from the engine's pool. One kept longer than the
        pool's recycle time goes back to it, which renews it."""
        while self._idle:
            conn, driver, taken = self._idle.pop()
            if driver.is_closed():
                await _drop([conn])
            elif time.monotonic() - taken > _RECYCLE_SECONDS:
                await conn.close()
            else:
                return conn, driver, taken
        conn = await self._engine.connect()
        driver = (await conn.get_raw_connection()).driver_connection
        return conn, driver, time.monotonic()

    def _announce(self) -> None:
        self._to_announce = True
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.create_task(self._announcing(),
                                                  name="guardian-ingest-announce")

    async def _announcing(self) -> None:
        while self._to_announce:
            self._to_announce = False  # what is committed from now on needs another
            try:
                await self._on_connection(lambda driver: driver.execute(_NOTIFY.text))
            except Exception as exc:  # the workers' poll will find the messages
                log.warning("could not announce new messages to other processes (%s); "
                            "their workers find them at their next poll", type(exc).__name__)
                return

    async def close(self) -> None:
        if self._announcer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._announcer, timeout=10)
        idle, self._idle = self._idle, []
        for conn, _, _ in idle:
            with contextlib.suppress(Exception):
                await conn.close()


async def _drop(connections: Sequence[AsyncConnection]) -> None:
    for conn in connections:
        with contextlib.suppress(Exception):
            await conn.invalidate()
            await conn.close()


async def get_message(*, engine: AsyncEngine, message_id: int
                      ) -> tuple[Message, list[StageEvent]] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(
            select(messages_table).where(messages_table.c.id == message_id)
        )).mappings().first()
        if row is None:
            return None
        events = (await conn.execute(
            select(events_table).where(events_table.c.message_id == message_id)
            .order_by(events_table.c.id)
        )).mappings().all()
    return Message.model_validate(dict(row)), [StageEvent.model_validate(dict(e)) for e in events]


async def count_by_stage(*, engine: AsyncEngine) -> dict[str, int]:
    """Messages per stage, plus `failed` for those parked after too many attempts."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(messages_table.c.stage, (messages_table.c.failed_at.is_not(None)).label("f"),
                   func.count())
            .group_by(messages_table.c.stage, "f")
        )).all()
    counts = {stage.value: 0 for stage in Stage}
    counts["failed"] = 0
    for stage, failed, n in rows:
        counts["failed" if failed else stage] += n
    return counts


async def oldest_waiting(*, engine: AsyncEngine) -> dt.datetime | None:
    """When the oldest message not yet through the pipeline (and not parked) arrived: how
    far behind the engine is, whatever the depth. Served by `ix_messages_pending`."""
    c = messages_table.c
    async with engine.connect() as conn:
        found = (await conn.execute(select(func.min(c.received_at)).where(
            c.stage != FINAL_STAGE.value, c.failed_at.is_(None)))).scalar()
    if isinstance(found, dt.datetime) and found.tzinfo is None:
        found = found.replace(tzinfo=dt.UTC)
    return found if isinstance(found, dt.datetime) else None


def pending_count(counts: dict[str, int]) -> int:
    return sum(n for stage, n in counts.items() if stage not in (FINAL_STAGE.value, "failed"))


# --- the work queue (`guardian.engine.pipeline`) ------------------------------------------
#
# A message is claimable while its stage is not the last, it is not parked, and
# `available_at` has passed; a claim writes a lease (`lease_owner`, and `available_at`
# pushed to the lease's expiry). See docs/architecture.md, "The pipeline and its guarantee".

# Ingest without a worker in its own process announces new messages on this PostgreSQL
# channel (`announce`); every worker listens, so none waits for its poll.
CHANNEL = "guardian_new_messages"
_NOTIFY = text(f"NOTIFY {CHANNEL}")
_PENDING = [stage.value for stage in PIPELINE[:-1]]


async def announce(conn: AsyncConnection) -> None:
    """In the transaction that stored new messages: wake the workers of every process when
    it commits (PostgreSQL delivers a NOTIFY at commit, and not at all on rollback). On
    SQLite, a single process, nothing to do."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY)


async def claim(*, engine: AsyncEngine, now: dt.datetime, lease: str, lease_seconds: float,
                limit: int) -> list[Message]:
    """Lease up to `limit` claimable messages to `lease`, highest priority first, then in
    arrival (id) order; each claim counts as an attempt. On PostgreSQL `FOR UPDATE SKIP
    LOCKED`: concurrent claims never overlap."""
    m = messages_table.c
    # `stage IN (...)` rather than `stage != final`, so that ix_messages_pending (stage,
    # available_at) finds the pending rows however many have gone through; sorting them by
    # priority is a top-N sort of the backlog (a few ms for thousands, measured in
    # benchmarks/emergency.py).
    pending = (
        select(m.id)
        .where(m.stage.in_(_PENDING), m.failed_at.is_(None), m.available_at <= now)
        .order_by(m.priority.desc(), m.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        # Run once (see guardian.storage.outbox.claim_due): never past the limit.
        .cte("pending")
    )
    statement = (
        update(messages_table)
        .where(m.id.in_(select(pending.c.id)))
        .values(lease_owner=lease, available_at=now + dt.timedelta(seconds=lease_seconds),
                attempts=m.attempts + 1)
        .returning(*messages_table.c)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(statement)).mappings().all()
    return sorted((Message.model_validate(dict(r)) for r in rows),
                  key=lambda x: (-x.priority, x.id or 0))


async def move_on(*, conn: AsyncConnection, ids: Sequence[int], stage: Stage, target: Stage,
                  lease: str, queue: Mapping[str, object]) -> set[int]:
    """Move the messages of `ids` still in `stage` and still leased to `lease` on to
    `target`, with the queue columns `queue`; return the ids that moved (one statement)."""
    m = messages_table.c
    return set((await conn.execute(
        update(messages_table)
        .where(and_(m.id.in_(list(ids)), m.stage == stage.value, m.lease_owner == lease))
        .values(stage=target.value, last_error=None, **queue)
        .returning(m.id)
    )).scalars())


async def set_columns(*, conn: AsyncConnection, rows: Sequence[tuple[int, Mapping[str, Any]]]
                      ) -> None:
    """Set columns of many messages, (id, {column: value}) each: one executemany per set of
    columns (on PostgreSQL, asyncpg sends the whole batch in one round trip)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for message_id, values in rows:
        if values:
            columns = tuple(sorted(values))
            by_columns.setdefault(columns, []).append(
                {"_id": message_id, **{f"_{c}": values[c] for c in columns}})
    m = messages_table.c
    for columns, params in by_columns.items():
        await conn.execute(
            update(messages_table).where(m.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}", type_=m[c].type) for c in columns}), params)


async def record_stages(*, conn: AsyncConnection, events: Sequence[Mapping[str, Any]]) -> None:
    """One `stage_events` row per completed stage; the unique (message, stage) key makes a
    second completion fail the transaction."""
    if events:
        await conn.execute(insert(events_table), list(events))


async def read_messages(*, conn: AsyncConnection, ids: Sequence[int]) -> list[Message]:
    """The messages of `ids` as stored now, in id order."""
    rows = (await conn.execute(
        select(messages_table).where(messages_table.c.id.in_(list(ids)))
        .order_by(messages_table.c.id))).mappings().all()
    return [Message.model_validate(dict(r)) for r in rows]


async def read_message(*, conn: AsyncConnection, message_id: int) -> Message | None:
    found = await read_messages(conn=conn, ids=[message_id])
    return found[0] if found else None


async def retry_later(*, conn: AsyncConnection, message_id: int, lease: str, error: str,
                      available_at: dt.datetime, failed_at: dt.datetime | None,
                      count_attempt: bool = True) -> None:
    """A failed stage: back to the queue at `available_at`, or parked (`failed_at`).
    `count_attempt` false: the cause is not the message's, its claim is not counted."""
    m = messages_table.c
    values: dict[str, Any] = {"lease_owner": None, "last_error": error,
                              "available_at": available_at, "failed_at": failed_at}
    if not count_attempt:
        values["attempts"] = m.attempts - 1
    await conn.execute(
        update(messages_table)
        .where(and_(m.id == message_id, m.lease_owner == lease)).values(**values))


async def retry_parked(*, conn: AsyncConnection, now: dt.datetime,
                       ids: Sequence[int] | None = None) -> list[int]:
    """Put parked (failed) messages back in the queue, their attempts counted afresh:
    every one, or those of `ids`; returns the ids re-driven."""
    m = messages_table.c
    query = (update(messages_table).where(m.failed_at.is_not(None))
             .values(failed_at=None, attempts=0, available_at=now, lease_owner=None)
             .returning(m.id))
    if ids is not None:
        query = query.where(m.id.in_(sorted(set(ids))))
    return sorted(int(i) for i in (await conn.execute(query)).scalars().all())


@dataclass(frozen=True)
class ParkedMessage:
    """A parked message as an admin sees it: where it stopped and why, never its text."""

    id: int
    source: str
    external_id: str
    stage: str
    attempts: int
    received_at: dt.datetime
    failed_at: dt.datetime
    last_error: str | None


async def list_parked(*, engine: AsyncEngine, limit: int = 100) -> list[ParkedMessage]:
    """Parked (failed) messages, the most recently parked first, without their text."""
    m = messages_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(m.id, m.source, m.external_id, m.stage, m.attempts, m.received_at,
                   m.failed_at, m.last_error)
            .where(m.failed_at.is_not(None)).order_by(m.failed_at.desc(), m.id.desc())
            .limit(limit))).all()
    return [ParkedMessage(id=int(r.id), source=r.source, external_id=r.external_id,
                          stage=r.stage, attempts=int(r.attempts), received_at=r.received_at,
                          failed_at=r.failed_at, last_error=r.last_error) for r in rows]


async def hand_back(*, engine: AsyncEngine, leases: Sequence[str], now: dt.datetime) -> None:
    """Give leased messages back to the queue at once, their claim not counted."""
    m = messages_table.c
    async with engine.begin() as conn:
        await conn.execute(
            update(messages_table).where(m.lease_owner.in_(list(leases)))
            .values(lease_owner=None, available_at=now, attempts=m.attempts - 1))


async def set_decision(*, conn: AsyncConnection, message_id: int,
                       decision: dict[str, Any]) -> None:
    await conn.execute(update(messages_table).where(messages_table.c.id == message_id)
                       .values(decision=decision))


# --- what the decision stage remembers (`guardian.engine.memory`) ------------------------
#
# Look-ups by primary key only, whatever the planner's statistics say: a join with an OR,
# on tables growing by hundreds of rows a second, was planned as sequential scans of both.

async def last_event_id(*, conn: AsyncConnection) -> int:
    e = events_table.c
    return int((await conn.execute(select(func.max(e.id)))).scalar_one_or_none() or 0)


async def event_ids_between(*, conn: AsyncConnection, low: int, top: int) -> set[int]:
    """The `stage_events` ids in (low, top] that exist (committed)."""
    e = events_table.c
    return set((await conn.execute(select(e.id).where(and_(e.id > low, e.id <= top))))
               .scalars())


async def events_after(*, conn: AsyncConnection, after: int, limit: int
                       ) -> list[tuple[int, int, str]]:
    """(event id, message id, stage) of the events after `after`, in id order."""
    e = events_table.c
    rows = await conn.execute(select(e.id, e.message_id, e.stage).where(e.id > after)
                              .order_by(e.id).limit(limit))
    return [(r[0], r[1], r[2]) for r in rows]


async def events_by_id(*, conn: AsyncConnection, ids: Sequence[int]
                       ) -> list[tuple[int, int, str]]:
    e = events_table.c
    rows = await conn.execute(select(e.id, e.message_id, e.stage).where(e.id.in_(list(ids))))
    return [(r[0], r[1], r[2]) for r in rows]


async def decisions_of(*, conn: AsyncConnection, ids: Sequence[int]
                       ) -> dict[int, tuple[dict[str, Any] | None, str | None]]:
    """message id -> (stored decision, harassment level)."""
    m = messages_table.c
    rows = await conn.execute(select(m.id, m.decision, m.harassment_level)
                              .where(m.id.in_(list(ids))))
    return {r[0]: (r[1], r[2]) for r in rows}


async def decided_since(*, conn: AsyncConnection, since: dt.datetime
                        ) -> list[tuple[int, dict[str, Any], str | None]]:
    """(message id, decision, level) of the decided messages received since `since`."""
    m = messages_table.c
    rows = await conn.execute(select(m.id, m.decision, m.harassment_level)
                              .where(m.decision.is_not(None), m.received_at >= since)
                              .order_by(m.id))
    return [(r[0], r[1], r[2]) for r in rows]


async def authors_of(*, conn: AsyncConnection, message_ids: Sequence[int]
                     ) -> dict[int, tuple[str, str]]:
    """message id -> (source, author handle)."""
    m = messages_table.c
    rows = await conn.execute(select(m.id, m.source, m.author_handle)
                              .where(m.id.in_(list(message_ids))))
    return {r[0]: (r[1], r[2]) for r in rows}
