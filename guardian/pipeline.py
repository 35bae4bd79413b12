"""The durable pipeline: workers take messages from the database one stage at a time.

A worker *claims* a batch (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several
processes share the queue; on SQLite there is one writer) by writing a lease: its owner
and an expiry in `available_at`. It then runs the stage outside any transaction, and
*completes* each message in one transaction that checks the lease is still its own, writes
the stage's result, moves the stage on and records a `stage_events` row whose unique key
(message, stage) makes a second completion impossible. A worker killed mid-stage leaves
only a lease, which expires; the message is then taken again. So every stage of every
message completes exactly once.

A batch is carried through the stages that follow in the same claim: the transaction that
completes one stage renews the lease instead of handing it back, and the worker runs the
next stage at once on the rows as that transaction left them. Each stage still completes
in a transaction of its own, so a worker killed between two stages leaves the first one
done and the next one leased, as if it had been claimed.

An idle worker sleeps until it is woken or its poll comes round: by ingest in its own
process (`Worker.wake`) or, on PostgreSQL, by ingest in any process (`announce`, a NOTIFY
the worker LISTENs for).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian import metrics
from guardian.storage.db import utcnow
from guardian.storage.messages import events_table, messages_table
from guardian.storage.models import FINAL_STAGE, PIPELINE, Message, Stage, next_stage

log = logging.getLogger(__name__)

Writer = Callable[[AsyncConnection], Awaitable[None]]
# Writes the rows of many messages at once (a multi-row insert): called once per batch with
# the items of every completed message that asked for it.
BatchWriter = Callable[[AsyncConnection, list[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """One item for a `BatchWriter` (a review item to insert, say)."""

    writer: BatchWriter
    item: Any

# Ingest without a worker in its own process announces new messages on this PostgreSQL
# channel (`announce`); every worker listens, so none waits for its poll.
CHANNEL = "guardian_new_messages"
_NOTIFY = text(f"NOTIFY {CHANNEL}")
_PENDING = [stage.value for stage in PIPELINE[:-1]]


@dataclass
class Outcome:
    """What a stage did to one message: its results, or an error to retry.

    Results go in `values` (columns of the message's own row: the pipeline sets those of
    the whole batch in one statement), `batched` (rows of other tables, each writer called
    once with the items of the whole batch) and `write` (anything else, run for each
    message in the completing transaction, a round trip or more each). `after_commit` runs
    once that transaction has committed (to wake whoever waits for what it wrote).
    """

    message_id: int
    write: Writer | None = None
    error: str | None = None
    values: Mapping[str, Any] | None = None
    after_commit: Callable[[], None] | None = None
    batched: Sequence[Batched] = ()


class StageHandler(Protocol):
    """Runs one stage on a batch of messages, all in the same stage."""

    async def __call__(self, batch: Sequence[Message]) -> Sequence[Outcome]: ...


async def pass_through(batch: Sequence[Message]) -> Sequence[Outcome]:
    """A stage with nothing to add yet: the message just moves on."""
    return [Outcome(message_id=m.id) for m in batch if m.id is not None]


async def announce(conn: AsyncConnection) -> None:
    """In the transaction that stored new messages: wake the workers of every process when
    it commits (PostgreSQL delivers a NOTIFY at commit, and not at all on rollback). On
    SQLite, a single process, nothing to do."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY)


def default_handlers() -> dict[Stage, StageHandler]:
    """The stage run on messages in each stage (received -> scored -> ...).

    Scoring, decisions and notifications replace these as their issues land; until then a
    message is carried through, so the mechanism (claim, lease, complete) is exercised.
    """
    return {stage: pass_through for stage in PIPELINE[:-1]}


@dataclass
class WorkerConfig:
    batch_size: int = 32
    poll_seconds: float = 0.5
    lease_seconds: float = 60.0
    max_attempts: int = 5
    gather_seconds: float = 0.0
    # Run the next stage on a batch as soon as one completes, under the same lease, rather
    # than handing the batch back to the queue and claiming it again.
    chain_stages: bool = True
    # Retry back-off after a failed stage: base * 2**(attempt-1), capped.
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0


def worker_name() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}"


@dataclass
class Worker:
    engine: AsyncEngine
    handlers: Mapping[Stage, StageHandler] = field(default_factory=default_handlers)
    config: WorkerConfig = field(default_factory=WorkerConfig)
    name: str = field(default_factory=worker_name)
    clock: Callable[[], dt.datetime] = utcnow

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._held: set[str] = set()

    def wake(self) -> None:
        """Look for work now (ingest calls this so a new message need not wait for a poll)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Process until `stop()`; on the way out, hand back any lease still held."""
        log.info("worker %s started", self.name)
        listener = (asyncio.create_task(self._listen(), name=f"{self.name} listener")
                    if self.engine.dialect.name == "postgresql" else None)
        try:
            while not self._stopping.is_set():
                # Cleared before looking, so a wake-up that comes while the claim runs (a
                # message committed just after the claim's snapshot) is not lost.
                self._wake.clear()
                try:
                    done = await self.run_once()
                except Exception:
                    log.exception("worker %s: database error; retrying shortly", self.name)
                    done = 0
                if done == 0 and not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)
                        # Woken by new work: let a burst gather into one batch (one model
                        # call scores a batch far faster than one text at a time).
                        if self.config.gather_seconds and not self._stopping.is_set():
                            await asyncio.sleep(self.config.gather_seconds)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            await self._release_held()
            log.info("worker %s stopped", self.name)

    async def _listen(self) -> None:
        """Wake up on `announce` from any process, on a connection of its own; after losing
        it, connect again (the poll covers the gap)."""
        while True:
            try:
                await self._listen_once()
                log.warning("worker %s: lost the connection it listened on", self.name)
            except Exception:
                log.warning("worker %s: cannot listen for new messages; polling", self.name,
                            exc_info=True)
            await asyncio.sleep(min(self.config.poll_seconds, 1.0))

    async def _listen_once(self) -> None:
        lost = asyncio.Event()

        def notified(*_: object) -> None:
            self.wake()

        def terminated(*_: object) -> None:
            lost.set()

        async with self.engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.add_listener(CHANNEL, notified)
            driver.add_termination_listener(terminated)
            try:
                self.wake()  # anything announced while nobody listened
                await lost.wait()
            finally:
                driver.remove_termination_listener(terminated)
                if not driver.is_closed():
                    await driver.remove_listener(CHANNEL, notified)
            await conn.invalidate()  # closed: the pool must not hand it out again

    async def run_once(self) -> int:
        """Claim one batch and run its stages; return how many stages were run on how many
        messages (a message carried from `received` to the last stage counts three)."""
        batch, lease = await self._claim()
        if not batch:
            return 0
        # Kept until the batch is done, so that a stop in the middle hands the leases back.
        self._held.add(lease)
        waiting: dict[Stage, list[Message]] = {}
        for message in batch:
            waiting.setdefault(Stage(message.stage), []).append(message)
        runs = 0
        for stage in PIPELINE[:-1]:
            messages = sorted(waiting.pop(stage, []), key=lambda x: x.id or 0)
            if not messages:
                continue
            if runs and self._stopping.is_set():
                return runs  # `run` hands back the lease on what is left
            runs += len(messages)
            carried, passed = await self._run_stage(stage, messages, lease)
            runs += passed
            for message in carried:
                waiting.setdefault(Stage(message.stage), []).append(message)
        self._held.discard(lease)
        return runs

    async def drain(self, *, max_rounds: int = 10_000) -> int:
        """Run until no claimable work is left (tests, simulations, one-shot CLI)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            if done == 0:
                return total
            total += done
        return total

    async def _claim(self) -> tuple[list[Message], str]:
        now = self.clock()
        lease = f"{self.name[:40]}/{secrets.token_hex(6)}"
        m = messages_table.c
        # `stage IN (...)` rather than `stage != final`, so that ix_messages_pending (stage,
        # available_at) finds the few pending rows however many have gone through.
        pending = (
            select(m.id)
            .where(m.stage.in_(_PENDING), m.failed_at.is_(None), m.available_at <= now)
            .order_by(m.id)
            .limit(self.config.batch_size)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(messages_table)
            .where(m.id.in_(pending.scalar_subquery()))
            .values(lease_owner=lease,
                    available_at=now + dt.timedelta(seconds=self.config.lease_seconds),
                    attempts=m.attempts + 1)
            .returning(*messages_table.c)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        batch = sorted((Message.model_validate(dict(r)) for r in rows), key=lambda x: x.id or 0)
        return batch, lease

    def _keeps(self, stage: Stage) -> bool:
        """Whether a batch that has reached `stage` keeps its lease to run it at once."""
        return (self.config.chain_stages and stage != FINAL_STAGE and stage in self.handlers
                and not self._stopping.is_set())

    def _reached(self, stage: Stage) -> list[Stage]:
        """The stages a batch completing `stage` reaches in the same transaction: the next
        one and, when the batch carries on, any after it whose handler is `pass_through`
        (nothing to run or write: completing it there saves a transaction)."""
        targets = [next_stage(stage)]
        while self._keeps(targets[-1]) and self.handlers[targets[-1]] is pass_through:
            targets.append(next_stage(targets[-1]))
        return targets

    async def _run_stage(self, stage: Stage, messages: list[Message], lease: str
                         ) -> tuple[list[Message], int]:
        """Run `stage` on `messages` and complete it; return the messages, as stored now,
        that moved on and are still leased for their next stage, and how many pass-through
        stages were completed with this one (one per message and stage)."""
        handler = self.handlers[stage]
        started = time.perf_counter()
        try:
            outcomes = list(await handler(messages))
        except Exception as exc:
            log.exception("stage %s failed for %d messages", stage.value, len(messages))
            outcomes = [Outcome(message_id=x.id or 0, error=_describe(exc)) for x in messages]
        elapsed_ms = (time.perf_counter() - started) * 1000
        by_id = {o.message_id: o for o in outcomes}
        for message in messages:
            by_id.setdefault(message.id or 0, Outcome(
                message_id=message.id or 0, error="the stage returned no outcome"))
        done = [x for x in messages if by_id[x.id or 0].error is None]
        failed = [x for x in messages if by_id[x.id or 0].error is not None]
        carried: list[Message] = []
        passed = 0
        if done:
            carried, passed = await self._complete(stage, done, by_id, lease, elapsed_ms)
        if failed:
            await self._fail(stage, failed, by_id, lease)
        return carried, passed

    async def _complete(self, stage: Stage, messages: list[Message], outcomes: dict[int, Outcome],
                        lease: str, elapsed_ms: float) -> tuple[list[Message], int]:
        now = self.clock()
        targets = self._reached(stage)
        target = targets[-1]
        carry_on = self._keeps(target)
        queue: dict[str, object]
        if carry_on:
            # Renewed for the next stage, counted as its first attempt (as a claim would).
            queue = {"lease_owner": lease, "attempts": 1,
                     "available_at": now + dt.timedelta(seconds=self.config.lease_seconds)}
        else:
            queue = {"lease_owner": None, "attempts": 0, "available_at": now}
        m = messages_table.c
        carried: list[Message] = []
        async with self.engine.begin() as conn:
            # One statement for the batch; only messages whose lease is still ours move on.
            moved = set((await conn.execute(
                update(messages_table)
                .where(and_(m.id.in_([x.id for x in messages]), m.stage == stage.value,
                            m.lease_owner == lease))
                .values(stage=target.value, last_error=None, **queue)
                .returning(m.id)
            )).scalars())
            completed = [x for x in messages if x.id in moved]
            for lost in (x for x in messages if x.id not in moved):
                # Our lease expired and another worker took the message: its result wins.
                metrics.LEASES_LOST.inc()
                log.warning("message %s: lease lost during %s; result discarded",
                            lost.id, stage.value)
            await _set_values(conn, [outcomes[x.id or 0] for x in completed])
            await _write_batched(conn, [outcomes[x.id or 0] for x in completed])
            for message in completed:
                writer = outcomes[message.id or 0].write
                if writer is not None:
                    await writer(conn)
            if completed:
                await conn.execute(insert(events_table), [
                    {"message_id": x.id, "stage": reached.value, "worker": self.name[:64],
                     "completed_at": now, "duration_ms": elapsed_ms if n == 0 else 0.0}
                    for x in completed for n, reached in enumerate(targets)])
                if carry_on:
                    # The rows as the stage's writers left them: the next stage's input.
                    rows = (await conn.execute(
                        select(messages_table).where(m.id.in_([x.id for x in completed]))
                        .order_by(m.id)
                    )).mappings().all()
                    carried = [Message.model_validate(dict(r)) for r in rows]
        for message in completed:
            wake = outcomes[message.id or 0].after_commit
            if wake is not None:
                wake()
        for n, reached in enumerate(targets):
            seconds = metrics.STAGE_SECONDS.labels(stage=reached.value)
            for _ in completed:
                seconds.observe(elapsed_ms / 1000 if n == 0 else 0.0)
            metrics.STAGE_COMPLETED.labels(stage=reached.value).inc(len(completed))
        if target == FINAL_STAGE:
            for message in completed:
                metrics.PIPELINE_SECONDS.observe((now - message.received_at).total_seconds())
        return carried, len(completed) * (len(targets) - 1)

    async def _fail(self, stage: Stage, messages: list[Message], outcomes: dict[int, Outcome],
                    lease: str) -> None:
        now = self.clock()
        m = messages_table.c
        async with self.engine.begin() as conn:
            for message in messages:
                error = (outcomes[message.id or 0].error or "unknown error")[:2000]
                give_up = message.attempts >= self.config.max_attempts
                delay = min(self.config.retry_base_seconds * 2 ** max(message.attempts - 1, 0),
                            self.config.retry_max_seconds)
                await conn.execute(
                    update(messages_table)
                    .where(and_(m.id == message.id, m.lease_owner == lease))
                    .values(lease_owner=None, last_error=error,
                            available_at=now + dt.timedelta(seconds=delay),
                            failed_at=now if give_up else None)
                )
                metrics.STAGE_FAILURES.labels(stage=stage.value).inc()
                log.warning("message %s: %s stage failed (attempt %d of %d)%s: %s",
                            message.id, stage.value, message.attempts, self.config.max_attempts,
                            "; parked as failed" if give_up else "", error)

    async def _release_held(self) -> None:
        if not self._held:
            return
        m = messages_table.c
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(messages_table).where(m.lease_owner.in_(list(self._held)))
                    .values(lease_owner=None, available_at=self.clock(),
                            attempts=m.attempts - 1)
                )
        except Exception:
            log.exception("could not hand back leases; they will expire on their own")
        self._held.clear()


async def _set_values(conn: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
    """The outcomes' `values`: one executemany for each set of columns (on PostgreSQL,
    asyncpg sends the whole batch in one round trip)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        if outcome.values:
            columns = tuple(sorted(outcome.values))
            by_columns.setdefault(columns, []).append(
                {"_id": outcome.message_id, **{f"_{c}": outcome.values[c] for c in columns}})
    m = messages_table.c
    for columns, rows in by_columns.items():
        await conn.execute(
            update(messages_table).where(m.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}", type_=m[c].type) for c in columns}), rows)


async def _write_batched(conn: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
    """The outcomes' `batched` items: each writer once, with its items in message order."""
    by_writer: dict[BatchWriter, list[Any]] = {}
    for outcome in outcomes:
        for batched in outcome.batched:
            by_writer.setdefault(batched.writer, []).append(batched.item)
    for writer, items in by_writer.items():
        await writer(conn, items)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
