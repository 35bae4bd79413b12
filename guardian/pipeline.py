"""The durable pipeline: workers take messages from the database one stage at a time.

A worker *claims* a batch (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several
processes share the queue; on SQLite there is one writer) by writing a lease: its owner
and an expiry in `available_at`. It then runs the stage outside any transaction, and
*completes* each message in one transaction that checks the lease is still its own, writes
the stage's result, moves the stage on and records a `stage_events` row whose unique key
(message, stage) makes a second completion impossible. A worker killed mid-stage leaves
only a lease, which expires; the message is then taken again. So every stage of every
message completes exactly once.
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
from typing import Protocol

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian import metrics
from guardian.storage.db import utcnow
from guardian.storage.messages import events_table, messages_table
from guardian.storage.models import FINAL_STAGE, PIPELINE, Message, Stage, next_stage

log = logging.getLogger(__name__)

Writer = Callable[[AsyncConnection], Awaitable[None]]


@dataclass
class Outcome:
    """What a stage did to one message: a writer for its results, or an error to retry."""

    message_id: int
    write: Writer | None = None
    error: str | None = None


class StageHandler(Protocol):
    """Runs one stage on a batch of messages, all in the same stage."""

    async def __call__(self, batch: Sequence[Message]) -> Sequence[Outcome]: ...


async def pass_through(batch: Sequence[Message]) -> Sequence[Outcome]:
    """A stage with nothing to add yet: the message just moves on."""
    return [Outcome(message_id=m.id) for m in batch if m.id is not None]


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
        try:
            while not self._stopping.is_set():
                try:
                    done = await self.run_once()
                except Exception:
                    log.exception("worker %s: database error; retrying shortly", self.name)
                    done = 0
                if done == 0 and not self._stopping.is_set():
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)
                        # Woken by new work: let a burst gather into one batch (one model
                        # call scores a batch far faster than one text at a time).
                        if self.config.gather_seconds and not self._stopping.is_set():
                            await asyncio.sleep(self.config.gather_seconds)
        finally:
            await self._release_held()
            log.info("worker %s stopped", self.name)

    async def run_once(self) -> int:
        """Claim one batch and run its stage; return how many messages were claimed."""
        batch, lease = await self._claim()
        if not batch:
            return 0
        # Kept until the batch is done, so that a stop in the middle hands the leases back.
        self._held.add(lease)
        by_stage: dict[Stage, list[Message]] = {}
        for message in batch:
            by_stage.setdefault(Stage(message.stage), []).append(message)
        for stage, messages in by_stage.items():
            await self._run_stage(stage, messages, lease)
        self._held.discard(lease)
        return len(batch)

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
        pending = (
            select(m.id)
            .where(m.stage != FINAL_STAGE.value, m.failed_at.is_(None), m.available_at <= now)
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

    async def _run_stage(self, stage: Stage, messages: list[Message], lease: str) -> None:
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
        if done:
            await self._complete(stage, done, by_id, lease, elapsed_ms)
        if failed:
            await self._fail(stage, failed, by_id, lease)

    async def _complete(self, stage: Stage, messages: list[Message], outcomes: dict[int, Outcome],
                        lease: str, elapsed_ms: float) -> None:
        now = self.clock()
        target = next_stage(stage)
        m = messages_table.c
        async with self.engine.begin() as conn:
            # One statement for the batch; only messages whose lease is still ours move on.
            moved = set((await conn.execute(
                update(messages_table)
                .where(and_(m.id.in_([x.id for x in messages]), m.stage == stage.value,
                            m.lease_owner == lease))
                .values(stage=target.value, lease_owner=None, available_at=now, attempts=0,
                        last_error=None)
                .returning(m.id)
            )).scalars())
            completed = [x for x in messages if x.id in moved]
            for lost in (x for x in messages if x.id not in moved):
                # Our lease expired and another worker took the message: its result wins.
                metrics.LEASES_LOST.inc()
                log.warning("message %s: lease lost during %s; result discarded",
                            lost.id, stage.value)
            for message in completed:
                writer = outcomes[message.id or 0].write
                if writer is not None:
                    await writer(conn)
            if completed:
                await conn.execute(insert(events_table), [
                    {"message_id": x.id, "stage": target.value, "worker": self.name[:64],
                     "completed_at": now, "duration_ms": elapsed_ms} for x in completed])
        for message in completed:
            metrics.STAGE_SECONDS.labels(stage=target.value).observe(elapsed_ms / 1000)
            metrics.STAGE_COMPLETED.labels(stage=target.value).inc()
            if target == FINAL_STAGE:
                metrics.PIPELINE_SECONDS.observe((now - message.received_at).total_seconds())

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


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
