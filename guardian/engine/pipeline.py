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

The worker is a job of the engine (`guardian.engine.loop`): its loop sleeps until it is
woken or its poll comes round, woken by ingest in its own process (`Loop.wake`) or, on
PostgreSQL, by ingest in any process (`guardian.storage.messages.announce`, a NOTIFY the
worker LISTENs for).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian import metrics
from guardian.storage import messages as queue
from guardian.storage.db import utcnow, worker_name
from guardian.storage.models import Message
from guardian.types import FINAL_STAGE, PIPELINE, Stage, next_stage

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


# A message waiting for a cause that is not its own (no policy loaded) is looked at again
# after this long.
WAIT_SECONDS = 5.0


@dataclass
class StageResult:
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
    # The error is not the message's (no policy loaded yet): it waits, its attempts are
    # not counted, and it is never parked for it.
    wait: bool = False
    values: Mapping[str, Any] | None = None
    after_commit: Callable[[], None] | None = None
    batched: Sequence[Batched] = ()


class StageHandler(Protocol):
    """Runs one stage on a batch of messages, all in the same stage."""

    async def __call__(self, batch: Sequence[Message]) -> Sequence[StageResult]: ...


async def pass_through(batch: Sequence[Message]) -> Sequence[StageResult]:
    """A stage with nothing to add: the message just moves on."""
    return [StageResult(message_id=m.id) for m in batch if m.id is not None]


def default_handlers() -> dict[Stage, StageHandler]:
    """Every stage passing messages through: the mechanism (claim, lease, complete) alone,
    for tests; `guardian.engine.build` puts the scoring and decision stages in."""
    return {stage: pass_through for stage in PIPELINE[:-1]}


@dataclass
class WorkerConfig:
    batch_size: int = 32
    lease_seconds: float = 60.0
    max_attempts: int = 5
    # Run the next stage on a batch as soon as one completes, under the same lease, rather
    # than handing the batch back to the queue and claiming it again.
    chain_stages: bool = True
    # Retry back-off after a failed stage: base * 2**(attempt-1), capped.
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0


@dataclass
class Worker:
    """The pipeline as a job: each round claims one batch and runs its stages."""

    engine: AsyncEngine
    handlers: Mapping[Stage, StageHandler] = field(default_factory=default_handlers)
    config: WorkerConfig = field(default_factory=WorkerConfig)
    worker_id: str = field(default_factory=worker_name)
    clock: Callable[[], dt.datetime] = utcnow
    name: ClassVar[str] = "pipeline"

    def __post_init__(self) -> None:
        self._stopping = False
        self._held: set[str] = set()
        self._listener: asyncio.Task[None] | None = None

    # --- the job's lifecycle (`guardian.engine.loop.Lifecycle`)

    async def start(self, wake: Callable[[], None]) -> None:
        """On PostgreSQL, listen for what ingest announces from any process."""
        self._stopping = False
        if self.engine.dialect.name == "postgresql":
            self._listener = asyncio.create_task(self._listen(wake),
                                                 name=f"{self.worker_id} listener")

    def stopping(self) -> None:
        """Run no further stage; `close` hands back what is left."""
        self._stopping = True

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._hand_back_leases()

    async def _listen(self, wake: Callable[[], None]) -> None:
        """Wake up on `announce` from any process, on a connection of its own; after losing
        it, connect again (the poll covers the gap)."""
        while True:
            try:
                await self._listen_once(wake)
                log.warning("worker %s: lost the connection it listened on", self.worker_id)
            except Exception:
                log.warning("worker %s: cannot listen for new messages; polling",
                            self.worker_id, exc_info=True)
            await asyncio.sleep(0.5)

    async def _listen_once(self, wake: Callable[[], None]) -> None:
        lost = asyncio.Event()

        def notified(*_: object) -> None:
            wake()

        def terminated(*_: object) -> None:
            lost.set()

        async with self.engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.add_listener(queue.CHANNEL, notified)
            driver.add_termination_listener(terminated)
            try:
                wake()  # anything announced while nobody listened
                await lost.wait()
            finally:
                driver.remove_termination_listener(terminated)
                if not driver.is_closed():
                    await driver.remove_listener(queue.CHANNEL, notified)
            await conn.invalidate()  # closed: the pool must not hand it out again

    # --- a round

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
            if runs and self._stopping:
                return runs  # `close` hands back the lease on what is left
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
        lease = f"{self.worker_id[:40]}/{secrets.token_hex(6)}"
        batch = await queue.claim(engine=self.engine, now=self.clock(), lease=lease,
                                  lease_seconds=self.config.lease_seconds,
                                  limit=self.config.batch_size)
        return batch, lease

    def _keeps(self, stage: Stage) -> bool:
        """Whether a batch that has reached `stage` keeps its lease to run it at once."""
        return (self.config.chain_stages and stage != FINAL_STAGE and stage in self.handlers
                and not self._stopping)

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
            results = list(await handler(messages))
        except Exception as exc:
            log.exception("stage %s failed for %d messages", stage.value, len(messages))
            results = [StageResult(message_id=x.id or 0, error=_describe(exc))
                       for x in messages]
        elapsed_ms = (time.perf_counter() - started) * 1000
        by_id = {r.message_id: r for r in results}
        for message in messages:
            by_id.setdefault(message.id or 0, StageResult(
                message_id=message.id or 0, error="the stage returned no result"))
        done = [x for x in messages if by_id[x.id or 0].error is None]
        failed = [x for x in messages if by_id[x.id or 0].error is not None]
        carried: list[Message] = []
        passed = 0
        if done:
            carried, passed = await self._complete(stage, done, by_id, lease, elapsed_ms)
        if failed:
            await self._fail(stage, failed, by_id, lease)
        return carried, passed

    async def _complete(self, stage: Stage, messages: list[Message],
                        results: dict[int, StageResult], lease: str, elapsed_ms: float
                        ) -> tuple[list[Message], int]:
        now = self.clock()
        targets = self._reached(stage)
        target = targets[-1]
        carry_on = self._keeps(target)
        columns: dict[str, object]
        if carry_on:
            # Renewed for the next stage, counted as its first attempt (as a claim would).
            columns = {"lease_owner": lease, "attempts": 1,
                       "available_at": now + dt.timedelta(seconds=self.config.lease_seconds)}
        else:
            columns = {"lease_owner": None, "attempts": 0, "available_at": now}
        carried: list[Message] = []
        async with self.engine.begin() as conn:
            # One statement for the batch; only messages whose lease is still ours move on.
            moved = await queue.move_on(conn=conn, ids=[x.id or 0 for x in messages],
                                        stage=stage, target=target, lease=lease,
                                        queue=columns)
            completed = [x for x in messages if x.id in moved]
            for lost in (x for x in messages if x.id not in moved):
                # Our lease expired and another worker took the message: its result wins.
                metrics.LEASES_LOST.inc()
                log.warning("message %s: lease lost during %s; result discarded",
                            lost.id, stage.value)
            mine = [results[x.id or 0] for x in completed]
            await queue.set_columns(conn=conn, rows=[(r.message_id, r.values) for r in mine
                                                     if r.values])
            await _write_batched(conn, mine)
            for result in mine:
                if result.write is not None:
                    await result.write(conn)
            if completed:
                await queue.record_stages(conn=conn, events=[
                    {"message_id": x.id, "stage": reached.value, "worker": self.worker_id[:64],
                     "completed_at": now, "duration_ms": elapsed_ms if n == 0 else 0.0}
                    for x in completed for n, reached in enumerate(targets)])
                if carry_on:
                    # The rows as the stage's writers left them: the next stage's input.
                    carried = await queue.read_messages(conn=conn,
                                                        ids=[x.id or 0 for x in completed])
        for message in completed:
            wake = results[message.id or 0].after_commit
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

    async def _fail(self, stage: Stage, messages: list[Message],
                    results: dict[int, StageResult], lease: str) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            for message in messages:
                result = results[message.id or 0]
                error = (result.error or "unknown error")[:2000]
                if result.wait:
                    await queue.retry_later(
                        conn=conn, message_id=message.id or 0, lease=lease, error=error,
                        available_at=now + dt.timedelta(seconds=WAIT_SECONDS),
                        failed_at=None, count_attempt=False)
                    continue
                give_up = message.attempts >= self.config.max_attempts
                delay = min(self.config.retry_base_seconds * 2 ** max(message.attempts - 1, 0),
                            self.config.retry_max_seconds)
                await queue.retry_later(conn=conn, message_id=message.id or 0, lease=lease,
                                        error=error,
                                        available_at=now + dt.timedelta(seconds=delay),
                                        failed_at=now if give_up else None)
                metrics.STAGE_FAILURES.labels(stage=stage.value).inc()
                log.warning("message %s: %s stage failed (attempt %d of %d)%s: %s",
                            message.id, stage.value, message.attempts, self.config.max_attempts,
                            "; parked as failed" if give_up else "", error)

    async def _hand_back_leases(self) -> None:
        """The leases of batches not finished (stopped, cancelled): back to the queue now
        rather than when they expire."""
        if not self._held:
            return
        try:
            await queue.hand_back(engine=self.engine, leases=list(self._held),
                                  now=self.clock())
        except Exception:
            log.exception("could not hand back leases; they will expire on their own")
        self._held.clear()


async def _write_batched(conn: AsyncConnection, results: Sequence[StageResult]) -> None:
    """The results' `batched` items: each writer once, with its items in message order."""
    by_writer: dict[BatchWriter, list[Any]] = {}
    for result in results:
        for batched in result.batched:
            by_writer.setdefault(batched.writer, []).append(batched.item)
    for writer, items in by_writer.items():
        await writer(conn, items)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
