"""The decision stage's memory: what was decided recently, read from the database by primary
key, incrementally, gaps included; forgotten as it leaves the window."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.decide import Recent, count_window
from guardian.engine import memory as recent
from guardian.engine.memory import GAP_SECONDS, DecisionMemory
from guardian.storage.db import utcnow
from guardian.storage.messages import events_table, messages_table
from tests.engine.test_pipeline import _store

T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def _decision(author: str, at: dt.datetime, target: str = "town",
              storm: bool = False) -> dict[str, Any]:
    return {"message": {"author": author}, "target": target, "decided_at": at.isoformat(),
            "fingerprint": f"fp-{author}",
            "storm": {"target": target, "first": True} if storm else None}


async def _decide(engine: AsyncEngine, message_id: int, decision: dict[str, Any] | None,
                  events: Sequence[tuple[int, str]]) -> None:
    """Store a message's decision and stage events with the given ids, as a completion
    that committed then would have."""
    async with engine.begin() as conn:
        if decision is not None:
            await conn.execute(update(messages_table).where(messages_table.c.id == message_id)
                               .values(decision=decision, harassment_level="rude"))
        await conn.execute(insert(events_table), [
            {"id": ident, "message_id": message_id, "stage": stage, "worker": "w",
             "completed_at": utcnow(), "duration_ms": 1.0} for ident, stage in events])


def _authors(found: Sequence[Recent]) -> list[str]:
    return sorted(r.author for r in found)


async def test_recent_decisions_reads_only_what_is_new_and_sees_late_commits(
        engine: AsyncEngine) -> None:
    ids = await _store(engine, 6)
    await _decide(engine, ids[0], _decision("a0", T0), [(1, "scored"), (2, "decided")])
    memory = DecisionMemory()
    async with engine.connect() as conn:
        await memory.read(conn, T0 - dt.timedelta(hours=1))
    assert _authors(memory.all()) == ["a0"] and memory.storm_targets() == set()

    # Decided out of id order, and event 4 drawn by a completion that has not committed
    # yet: 3 and 5 are read, 4 is a gap ...
    await _decide(engine, ids[2], _decision("a2", T0, storm=True), [(3, "decided")])
    await _decide(engine, ids[1], None, [(5, "scored")])
    async with engine.connect() as conn:
        await memory.read(conn, T0 - dt.timedelta(hours=1))
    assert _authors(memory.all()) == ["a0", "a2"] and memory.storm_targets() == {"town"}
    # ... read when it commits, after later ones.
    await _decide(engine, ids[3], _decision("a3", T0), [(6, "decided")])
    await _decide(engine, ids[1], _decision("a1", T0), [(4, "decided")])
    async with engine.connect() as conn:
        await memory.read(conn, T0 - dt.timedelta(hours=1))
    assert _authors(memory.all()) == ["a0", "a1", "a2", "a3"]
    # A second memory starting now reads the same from scratch.
    fresh = DecisionMemory()
    async with engine.connect() as conn:
        await fresh.read(conn, T0 - dt.timedelta(hours=1))
    assert _authors(fresh.all()) == _authors(memory.all())
    assert fresh.storm_targets() == memory.storm_targets()


async def test_recent_decisions_forget_what_leaves_the_window(engine: AsyncEngine) -> None:
    ids = await _store(engine, 40)
    memory = DecisionMemory()
    decided: dict[str, dt.datetime] = {}
    for step, message_id in enumerate(ids):
        # Decision times not in id order (several workers), one storm starter among them.
        at = T0 + dt.timedelta(minutes=(step * 7) % 40)
        author = f"a{step}"
        decided[author] = at
        await _decide(engine, message_id, _decision(author, at, storm=step == 5),
                      [(step + 1, "decided")])
        if step % 3 == 0:
            since = T0 + dt.timedelta(minutes=step)
            async with engine.connect() as conn:
                await memory.read(conn, since)
            assert _authors(memory.all()) == sorted(a for a, t in decided.items() if t >= since)
            assert [r.author for r in memory.of_author("a1")] == (
                ["a1"] if "a1" in decided and decided["a1"] >= since else [])
            started = "a5" in decided and decided["a5"] >= since
            assert memory.storm_targets() == ({"town"} if started else set())
            # Its storm window for the town, counted as decisions came, is a recount's.
            later = since + dt.timedelta(minutes=30)
            assert memory.storm_count("town", "a3", later, 30) == count_window(
                memory.all(), "town", "a3", 30, later)


def test_the_memory_of_decisions_stays_out_of_the_garbage_collectors_way() -> None:
    """An hour at 200 messages a second is 720,000 remembered decisions: as objects the
    collector tracks, every full collection would walk them all (170 ms)."""
    memory = DecisionMemory()
    memory._remember((n, _decision(f"a{n % 7}", T0 + dt.timedelta(seconds=n)), "rude")
                     for n in range(1, 200))
    memory.storm_count("town", "a1", T0 + dt.timedelta(minutes=2), 60)
    gc.collect()
    kept = [*memory._recent.values(), *memory._by_author.values(), *memory._ageing]
    assert len(kept) == 199 + 7 + 199
    assert not any(gc.is_tracked(item) for item in kept)
    assert [r.author for r in memory.of_author("a1")] == ["a1"] * 29


async def test_recent_decisions_read_page_by_page(engine: AsyncEngine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await _store(engine, 7)
    memory = DecisionMemory()
    async with engine.connect() as conn:
        await memory.read(conn, T0 - dt.timedelta(hours=1))
    monkeypatch.setattr(recent, "READ_PAGE", 2)
    for n, message_id in enumerate(ids):
        await _decide(engine, message_id, _decision(f"a{n}", T0), [(n + 1, "decided")])
    async with engine.connect() as conn:
        await memory.read(conn, T0 - dt.timedelta(hours=1))
    assert _authors(memory.all()) == [f"a{n}" for n in range(7)] and memory.gaps() == set()


async def test_recent_decisions_give_up_a_gap_that_never_commits(engine: AsyncEngine) -> None:
    ids = await _store(engine, 2)
    now = [0.0]
    memory = DecisionMemory(clock=lambda: now[0])
    since = T0 - dt.timedelta(hours=1)
    async with engine.connect() as conn:
        await memory.read(conn, since)
    await _decide(engine, ids[0], _decision("a0", T0), [(2, "decided")])  # 1: rolled back
    async with engine.connect() as conn:
        await memory.read(conn, since)
    assert memory.gaps() == {1}
    now[0] += GAP_SECONDS + 1
    async with engine.connect() as conn:
        await memory.read(conn, since)
    assert memory.gaps() == set() and _authors(memory.all()) == ["a0"]


