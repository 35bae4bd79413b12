"""The durable pipeline: every stage of every message completes exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.config.settings import Settings
from guardian.engine.loop import Loop, LoopConfig
from guardian.engine.pipeline import (
    Batched,
    StageHandler,
    StageResult,
    Worker,
    WorkerConfig,
    Writer,
    pass_through,
)
from guardian.schemas import MessageIn
from guardian.storage.db import create_engine, utcnow
from guardian.storage.messages import announce, events_table, messages_table, store_messages
from guardian.storage.models import Message
from guardian.storage.tokens import create_token
from guardian.types import FINAL_STAGE, PIPELINE, Role, Stage
from guardian.web.app import init_app
from tests.conftest import POLICIES, ROOT, AiohttpClient, Client, Database, bearer, message


async def _store(engine: AsyncEngine, count: int, prefix: str = "m") -> list[int]:
    items = [MessageIn.model_validate(message(f"{prefix}{i}")) for i in range(count)]
    async with engine.begin() as conn:
        return [s.id for s in await store_messages(conn=conn, messages=items)]


async def _rows(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(messages_table).order_by(messages_table.c.id)))
        return [dict(r) for r in rows.mappings()]


async def _events_per_message(engine: AsyncEngine) -> dict[int, list[str]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(events_table.c.message_id, events_table.c.stage).order_by(events_table.c.id)
        )).all()
    found: dict[int, list[str]] = {}
    for message_id, stage in rows:
        found.setdefault(message_id, []).append(stage)
    return found


EXACTLY_ONCE = [s.value for s in PIPELINE[1:]]


async def test_a_message_posted_over_http_reaches_the_last_stage(
        live_client: Client, tokens: dict[Role, str]) -> None:
    posted = await live_client.post("/api/v1/messages", json=message("e2e"),
                                    headers=bearer(tokens[Role.ingest]))
    message_id = (await posted.json())["ids"][0]
    body: dict[str, Any] = {}
    for _ in range(200):
        got = await live_client.get(f"/api/v1/messages/{message_id}",
                                    headers=bearer(tokens[Role.moderator]))
        body = await got.json()
        if body["stage"] == FINAL_STAGE.value:
            break
        await asyncio.sleep(0.05)
    assert body["stage"] == "notified"
    assert [h["stage"] for h in body["history"]] == EXACTLY_ONCE
    assert body["failed"] is False


async def test_drain_moves_every_message_through_every_stage_once(engine: AsyncEngine) -> None:
    ids = await _store(engine, 70)
    processed = await Worker(engine, config=WorkerConfig(batch_size=16)).drain()
    assert processed == 70 * 3
    assert {r["stage"] for r in await _rows(engine)} == {"notified"}
    assert await _events_per_message(engine) == {i: EXACTLY_ONCE for i in ids}


async def test_a_failing_stage_is_retried_with_back_off_then_completes(
        engine: AsyncEngine) -> None:
    [message_id] = await _store(engine, 1)
    calls = 0

    async def flaky(batch: Sequence[Message]) -> Sequence[StageResult]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("scorer unavailable")
        return await pass_through(batch)

    now = [utcnow()]
    handlers = {Stage.received: flaky, Stage.scored: pass_through, Stage.decided: pass_through}
    worker = Worker(engine, handlers=handlers, clock=lambda: now[0],
                    config=WorkerConfig(retry_base_seconds=10))
    assert await worker.run_once() == 1
    [row] = await _rows(engine)
    assert row["stage"] == "received" and row["lease_owner"] is None
    assert row["last_error"] == "RuntimeError: scorer unavailable"
    assert row["attempts"] == 1
    assert await worker.run_once() == 0  # backing off: not yet due
    now[0] += dt.timedelta(seconds=11)
    await worker.drain()
    [row] = await _rows(engine)
    assert row["stage"] == "notified" and row["last_error"] is None
    assert (await _events_per_message(engine))[message_id] == EXACTLY_ONCE


async def test_a_message_that_keeps_failing_is_parked_not_lost(engine: AsyncEngine) -> None:
    await _store(engine, 1)

    async def broken(batch: Sequence[Message]) -> Sequence[StageResult]:
        return [StageResult(message_id=m.id or 0, error="cannot score") for m in batch]

    now = [utcnow()]
    worker = Worker(engine, handlers={Stage.received: broken}, clock=lambda: now[0],
                    config=WorkerConfig(max_attempts=3))
    for _ in range(5):
        await worker.run_once()
        now[0] += dt.timedelta(hours=1)
    [row] = await _rows(engine)
    assert row["attempts"] == 3
    assert row["failed_at"] is not None
    assert row["stage"] == "received" and row["text"]


async def test_a_worker_whose_lease_expired_cannot_complete_twice(engine: AsyncEngine) -> None:
    [message_id] = await _store(engine, 1)
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(batch: Sequence[Message]) -> Sequence[StageResult]:
        started.set()
        await release.wait()
        return await pass_through(batch)

    slow_worker = Worker(engine, handlers={Stage.received: slow}, worker_id="slow",
                         config=WorkerConfig(lease_seconds=5))
    slow_task = asyncio.create_task(slow_worker.run_once())
    await started.wait()
    # Later than the lease: a second worker takes the message over and completes it.
    later = Worker(engine, worker_id="fast", clock=lambda: utcnow() + dt.timedelta(seconds=6))
    await later.drain()
    release.set()
    await slow_task
    assert (await _events_per_message(engine))[message_id] == EXACTLY_ONCE
    async with engine.connect() as conn:
        workers = (await conn.execute(select(events_table.c.worker))).scalars().all()
    assert set(workers) == {"fast"}


async def test_a_stopped_worker_hands_its_lease_back(engine: AsyncEngine) -> None:
    await _store(engine, 1)
    started = asyncio.Event()

    async def forever(batch: Sequence[Message]) -> Sequence[StageResult]:
        started.set()
        await asyncio.sleep(3600)
        return []

    worker = Worker(engine, handlers={Stage.received: forever},
                    config=WorkerConfig(lease_seconds=600))
    task = asyncio.create_task(Loop(worker).run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [row] = await _rows(engine)
    assert row["lease_owner"] is None and row["attempts"] == 0
    assert row["available_at"] <= utcnow()  # type: ignore[operator]


async def test_a_worker_killed_mid_stage_is_resumed_after_restart(
        database: Database, engine: AsyncEngine, tmp_path: Path) -> None:
    ids = await _store(engine, 3)
    marker = tmp_path / "claimed"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.crashing_worker", database.url, str(marker)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert marker.exists(), "the worker never claimed the messages"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    claimed = sorted(int(x) for x in marker.read_text().split(","))
    assert claimed == ids
    rows = await _rows(engine)
    assert all(r["stage"] == "received" and r["lease_owner"] for r in rows)
    assert await _events_per_message(engine) == {}

    # A restarted worker cannot take them while the dead one's lease lasts ...
    restarted = Worker(engine)
    assert await restarted.run_once() == 0
    # ... and takes them once it has expired, completing each stage exactly once.
    after_lease = Worker(engine, clock=lambda: utcnow() + dt.timedelta(seconds=31))
    await after_lease.drain()
    assert {r["stage"] for r in await _rows(engine)} == {"notified"}
    assert await _events_per_message(engine) == {i: EXACTLY_ONCE for i in ids}


async def test_concurrent_workers_share_the_queue_without_doing_anything_twice(
        postgres_database: Database) -> None:
    # PostgreSQL only: SQLite has one writer, sharing the queue is PostgreSQL's job.
    engine = create_engine(postgres_database.url)
    try:
        await _share_the_queue(engine)
    finally:
        await engine.dispose()


async def _share_the_queue(engine: AsyncEngine) -> None:
    ids = await _store(engine, 300)
    seen: list[tuple[int, str]] = []

    async def record(batch: Sequence[Message]) -> Sequence[StageResult]:
        seen.extend((m.id or 0, m.stage) for m in batch)
        await asyncio.sleep(0.001)
        return await pass_through(batch)

    handlers = {stage: record for stage in PIPELINE[:-1]}
    workers = [Worker(engine, handlers=handlers, worker_id=f"w{i}",
                      config=WorkerConfig(batch_size=8)) for i in range(4)]
    await asyncio.gather(*(w.drain() for w in workers))
    assert len(seen) == len(set(seen)) == 300 * 3
    assert await _events_per_message(engine) == {i: EXACTLY_ONCE for i in ids}
    async with engine.connect() as conn:
        busy = (await conn.execute(
            select(func.count(func.distinct(events_table.c.worker))))).scalar_one()
    assert busy > 1


async def test_a_burst_gathers_into_one_batch_before_scoring(engine: AsyncEngine) -> None:
    """GUARDIAN_SCORING_WAIT_MS: after a wake-up the worker waits for the rest of a burst,
    so one model call scores it, instead of a batch of one and then the others."""
    sizes: list[int] = []

    async def record(batch: Sequence[Message]) -> Sequence[StageResult]:
        sizes.append(len(batch))
        return await pass_through(batch)

    worker = Worker(engine, handlers={Stage.received: record, Stage.scored: pass_through,
                                      Stage.decided: pass_through},
                    config=WorkerConfig())
    loop = Loop(worker, LoopConfig(poll_seconds=5, gather_seconds=0.3))
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(0.05)  # idle, waiting to be woken
    await _store(engine, 1, prefix="first")
    loop.wake()
    await asyncio.sleep(0.05)  # the rest of the burst arrives while it gathers
    await _store(engine, 4, prefix="rest")
    for _ in range(100):
        if sum(sizes) >= 5:
            break
        await asyncio.sleep(0.05)
    loop.stop()
    await task
    assert sizes == [5]


# --------------------------------------------------------------------------- stage chaining

def _writing(stage: Stage, seen: list[tuple[str, list[int], list[str | None]]]
             ) -> StageHandler:
    """A stage that records what it was given and writes `masked_text` = `<stage>:<id>`."""

    async def handler(batch: Sequence[Message]) -> Sequence[StageResult]:
        seen.append((stage.value, [m.id or 0 for m in batch], [m.masked_text for m in batch]))

        def writer(ident: int) -> Writer:
            async def write(conn: AsyncConnection) -> None:
                await conn.execute(update(messages_table).where(messages_table.c.id == ident)
                                   .values(masked_text=f"{stage.value}:{ident}"))
            return write

        return [StageResult(message_id=m.id or 0, write=writer(m.id or 0)) for m in batch]

    return handler


async def test_one_claim_carries_a_batch_through_every_stage(engine: AsyncEngine) -> None:
    ids = await _store(engine, 5)
    seen: list[tuple[str, list[int], list[str | None]]] = []
    handlers = {stage: _writing(stage, seen) for stage in PIPELINE[:-1]}
    worker = Worker(engine, handlers=handlers, worker_id="chain")
    assert await worker.run_once() == 5 * 3
    # Each stage ran once on the whole batch, and saw what the stage before it wrote.
    assert seen == [("received", ids, [None] * 5),
                    ("scored", ids, [f"received:{i}" for i in ids]),
                    ("decided", ids, [f"scored:{i}" for i in ids])]
    rows = await _rows(engine)
    assert {r["stage"] for r in rows} == {"notified"}
    assert all(r["lease_owner"] is None and r["attempts"] == 0 for r in rows)
    assert [r["masked_text"] for r in rows] == [f"decided:{i}" for i in ids]
    assert await _events_per_message(engine) == {i: EXACTLY_ONCE for i in ids}
    assert await worker.run_once() == 0


async def test_a_pass_through_stage_completes_with_the_stage_before_it(
        engine: AsyncEngine) -> None:
    ids = await _store(engine, 4)
    seen: list[tuple[str, list[int], list[str | None]]] = []
    start = utcnow()
    ticks = itertools.count()
    handlers = {Stage.received: _writing(Stage.received, seen),
                Stage.scored: _writing(Stage.scored, seen), Stage.decided: pass_through}
    worker = Worker(engine, handlers=handlers,
                    clock=lambda: start + dt.timedelta(seconds=next(ticks)))
    assert await worker.run_once() == 4 * 3
    async with engine.connect() as conn:
        events = (await conn.execute(
            select(events_table.c.message_id, events_table.c.stage,
                   events_table.c.completed_at, events_table.c.duration_ms)
            .order_by(events_table.c.id))).all()
    assert await _events_per_message(engine) == {i: EXACTLY_ONCE for i in ids}
    # Each completion reads the clock once: `notified` was recorded by the transaction
    # that recorded `decided`, and took no time of its own.
    when = {(e.message_id, e.stage): e.completed_at for e in events}
    assert all(when[i, "notified"] == when[i, "decided"] != when[i, "scored"] for i in ids)
    assert all(e.duration_ms == 0.0 for e in events if e.stage == "notified")
    rows = await _rows(engine)
    assert all(r["stage"] == "notified" and r["lease_owner"] is None for r in rows)


async def test_without_chaining_a_claim_runs_one_stage(engine: AsyncEngine) -> None:
    ids = await _store(engine, 3)
    worker = Worker(engine, config=WorkerConfig(chain_stages=False))
    assert await worker.run_once() == 3
    rows = await _rows(engine)
    assert {r["stage"] for r in rows} == {"scored"}
    assert all(r["lease_owner"] is None and r["attempts"] == 0 for r in rows)
    assert await worker.drain() == 3 * 2
    assert await _events_per_message(engine) == {i: EXACTLY_ONCE for i in ids}


async def test_a_carried_stage_that_fails_is_retried_on_its_own(engine: AsyncEngine) -> None:
    [message_id] = await _store(engine, 1)
    calls: list[str] = []

    async def flaky(batch: Sequence[Message]) -> Sequence[StageResult]:
        calls.append("scored")
        if len(calls) == 1:
            raise RuntimeError("policy not loaded")
        return await pass_through(batch)

    now = [utcnow()]
    handlers = {Stage.received: pass_through, Stage.scored: flaky, Stage.decided: pass_through}
    worker = Worker(engine, handlers=handlers, clock=lambda: now[0],
                    config=WorkerConfig(retry_base_seconds=10))
    assert await worker.run_once() == 2
    [row] = await _rows(engine)
    # The first stage stays done; the second is backing off, counted as its first attempt.
    assert row["stage"] == "scored" and row["lease_owner"] is None
    assert row["attempts"] == 1 and row["last_error"] == "RuntimeError: policy not loaded"
    assert (await _events_per_message(engine))[message_id] == ["scored"]
    assert await worker.run_once() == 0
    now[0] += dt.timedelta(seconds=11)
    assert await worker.drain() == 2
    assert (await _events_per_message(engine))[message_id] == EXACTLY_ONCE


async def test_a_worker_stopped_between_stages_hands_the_next_one_back(
        engine: AsyncEngine) -> None:
    ids = await _store(engine, 2)
    loop: Loop

    async def stop_now(batch: Sequence[Message]) -> Sequence[StageResult]:
        loop.stop()
        return await pass_through(batch)

    worker = Worker(engine, handlers={Stage.received: stop_now, Stage.scored: pass_through,
                                      Stage.decided: pass_through},
                    config=WorkerConfig(lease_seconds=600))
    loop = Loop(worker)
    await loop.run()
    rows = await _rows(engine)
    assert {r["stage"] for r in rows} == {"scored"}
    assert all(r["lease_owner"] is None and r["attempts"] == 0 for r in rows)
    assert all(r["available_at"] <= utcnow() for r in rows)  # type: ignore[operator]
    assert await _events_per_message(engine) == {i: ["scored"] for i in ids}


KILLED_BETWEEN_STAGES = """
import asyncio, sys
from pathlib import Path
from guardian.engine.pipeline import Worker, WorkerConfig, pass_through
from guardian.storage.db import create_engine
from guardian.types import Stage

async def main(url: str, marker: Path) -> None:
    async def hang(batch):
        marker.write_text(",".join(str(m.id) for m in batch))
        await asyncio.sleep(3600)
        return []

    handlers = {Stage.received: pass_through, Stage.scored: hang, Stage.decided: pass_through}
    worker = Worker(create_engine(url), handlers=handlers, config=WorkerConfig(lease_seconds=30))
    await worker.drain()

asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
"""


async def test_a_worker_killed_between_two_stages_leaves_the_first_done(
        database: Database, engine: AsyncEngine, tmp_path: Path) -> None:
    ids = await _store(engine, 3)
    marker = tmp_path / "second-stage"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_BETWEEN_STAGES, database.url, str(marker)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert marker.exists(), "the worker never reached the second stage"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert sorted(int(x) for x in marker.read_text().split(",")) == ids
    # The first stage is done and recorded; the second is still leased to the dead worker.
    rows = await _rows(engine)
    assert all(r["stage"] == "scored" and r["lease_owner"] and r["attempts"] == 1
               for r in rows)
    assert await _events_per_message(engine) == {i: ["scored"] for i in ids}

    assert await Worker(engine).run_once() == 0
    after_lease = Worker(engine, clock=lambda: utcnow() + dt.timedelta(seconds=31))
    assert await after_lease.drain() == 3 * 2
    assert {r["stage"] for r in await _rows(engine)} == {"notified"}
    assert await _events_per_message(engine) == {i: EXACTLY_ONCE for i in ids}


async def test_a_wake_up_during_an_empty_claim_is_not_lost(engine: AsyncEngine) -> None:
    """A message committed just after the claim's snapshot wakes the worker while it is
    still claiming: it must look again at once, not sleep until the next poll."""

    loop: Loop

    class Racing(Worker):
        raced = False

        async def _claim(self) -> tuple[list[Message], str]:
            found = await super()._claim()
            if not found[0] and not self.raced:
                self.raced = True
                await _store(engine, 1, prefix="late")
                loop.wake()
            return found

    worker = Racing(engine)
    loop = Loop(worker, LoopConfig(poll_seconds=3600))
    task = asyncio.create_task(loop.run())
    try:
        for _ in range(400):
            rows = await _rows(engine)
            if rows and rows[0]["stage"] == FINAL_STAGE.value:
                break
            await asyncio.sleep(0.05)
    finally:
        loop.stop()
        await task
    assert [r["stage"] for r in await _rows(engine)] == ["notified"]


async def test_values_are_set_for_the_whole_batch_only_where_the_lease_holds(
        engine: AsyncEngine) -> None:
    first, second, third = await _store(engine, 3)

    async def assess(batch: Sequence[Message]) -> Sequence[StageResult]:
        # Meanwhile another worker took the second message over (our lease expired).
        async with engine.begin() as conn:
            await conn.execute(update(messages_table).where(messages_table.c.id == second)
                               .values(lease_owner="someone-else"))
        return [StageResult(message_id=m.id or 0, values={
            "harassment_level": "rude", "masked_text": f"masked {m.id}",
            "assessment": {"level": "rude", "labels": {"insult": 0.9}}})
            if m.id != third else StageResult(message_id=third, values={"masked_text": "only"})
            for m in batch]

    worker = Worker(engine, handlers={Stage.received: assess, Stage.scored: pass_through,
                                      Stage.decided: pass_through})
    await worker.run_once()
    rows = {r["id"]: r for r in await _rows(engine)}
    assert rows[first]["masked_text"] == f"masked {first}"
    assert rows[first]["harassment_level"] == "rude"
    assert rows[first]["assessment"] == {"level": "rude", "labels": {"insult": 0.9}}
    assert rows[first]["stage"] == "notified"
    assert rows[second]["masked_text"] is None and rows[second]["assessment"] is None
    assert rows[second]["stage"] == "received"
    assert rows[third]["masked_text"] == "only" and rows[third]["harassment_level"] is None


async def test_batched_writes_run_once_for_the_batch_only_where_the_lease_holds(
        engine: AsyncEngine) -> None:
    first, second, third = await _store(engine, 3)
    calls: list[list[str]] = []

    async def write(conn: AsyncConnection, items: list[Any]) -> None:
        calls.append(items)
        # In the completing transaction: a failure here would roll the batch back.
        assert conn.in_transaction()

    async def stage(batch: Sequence[Message]) -> Sequence[StageResult]:
        async with engine.begin() as conn:   # our lease on the second one expired
            await conn.execute(update(messages_table).where(messages_table.c.id == second)
                               .values(lease_owner="someone-else"))
        return [StageResult(message_id=m.id or 0, batched=[Batched(write, f"{m.id}a"),
                                                       Batched(write, f"{m.id}b")])
                for m in batch]

    worker = Worker(engine, handlers={Stage.received: stage, Stage.scored: pass_through,
                                      Stage.decided: pass_through})
    await worker.run_once()
    assert calls == [[f"{first}a", f"{first}b", f"{third}a", f"{third}b"]]



# --------------------------------------------------------------- wake-ups across processes

async def _until_final(engine: AsyncEngine, count: int) -> list[str]:
    """Wait (bounded) until `count` messages reached the last stage; their stages."""
    stages: list[str] = []
    for _ in range(400):
        stages = [str(r["stage"]) for r in await _rows(engine)]
        if len(stages) == count and set(stages) == {FINAL_STAGE.value}:
            break
        await asyncio.sleep(0.05)
    return stages


async def test_a_worker_wakes_on_what_another_process_announces(
        postgres_database: Database, aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    """PostgreSQL LISTEN/NOTIFY: an API process without a worker of its own announces new
    messages at commit, and a worker elsewhere that only polls once an hour takes them at
    once, also after losing the connection it listens on."""
    worker_engine = create_engine(postgres_database.url)
    api_engine = create_engine(postgres_database.url)
    settings = Settings(env="development", database_url=postgres_database.url,
                        policies_dir=POLICIES, token_cache_seconds=0.05,
                        models_dir=tmp_path / "models", scoring_wait_ms=0)
    client = await aiohttp_client(init_app(settings, run_worker=False))
    _, token = await create_token(engine=api_engine, name="ingest", role=Role.ingest)
    loop = Loop(Worker(worker_engine), LoopConfig(poll_seconds=3600))
    task = asyncio.create_task(loop.run())
    try:
        await _listening(api_engine)
        posted = await client.post("/api/v1/messages", json=message("across"),
                                   headers=bearer(token))
        assert posted.status == 202
        assert await _until_final(api_engine, 1) == ["notified"]

        async with api_engine.connect() as conn:  # the listening connection drops
            await conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE query LIKE 'LISTEN%'"))
        await _listening(api_engine)
        posted = await client.post("/api/v1/messages", json=message("after-loss"),
                                   headers=bearer(token))
        assert posted.status == 202
        assert await _until_final(api_engine, 2) == ["notified", "notified"]
    finally:
        loop.stop()
        await task
        await worker_engine.dispose()
        await api_engine.dispose()


async def _listening(engine: AsyncEngine) -> None:
    """Wait (bounded) until a connection listens on the channel."""
    for _ in range(200):
        async with engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' "
                "AND state = 'idle'"))).scalar_one()
        if found:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no worker listens")


async def test_announcing_without_postgresql_does_nothing(engine: AsyncEngine) -> None:
    await _store(engine, 1)
    async with engine.begin() as conn:
        await announce(conn)  # SQLite: one process, nothing to tell; PostgreSQL: NOTIFY
    assert await Worker(engine).drain() == 3


# --------------------------------------------------------------------------- recent decisions

















