"""The decision stage in the pipeline, on both databases: decisions stored with their
message, review items queued, pages opened and escalated, and pile-ons seen as storms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.decision_stage import DecisionStage
from guardian.engine.escalation import Escalator
from guardian.engine.pipeline import StageHandler, Worker, WorkerConfig, pass_through
from guardian.engine.scoring_stage import ScoringStage, in_executor
from guardian.engine.timeline import DutyTimeline
from guardian.policy_files.store import PolicyStore
from guardian.review.queue import review_table
from guardian.review.sanctions import mute_author
from guardian.schemas import MessageIn
from guardian.scoring.assessor import assessor_for
from guardian.scoring.lite import LiteModel
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.pages import page_events, pages_table
from guardian.types import Stage
from tests.conftest import POLICIES, message

MADRID = ZoneInfo("Europe/Madrid")


def madrid(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=MADRID)


@pytest.fixture(scope="module")
def lite() -> LiteModel:
    return LiteModel()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown()


def _worker(engine: AsyncEngine, lite: LiteModel, executor: ThreadPoolExecutor,
            now: dt.datetime, batch_size: int = 32) -> Worker:
    store = PolicyStore(POLICIES)
    assessor = assessor_for(lite, store.policy)
    handlers: dict[Stage, StageHandler] = {
        Stage.received: ScoringStage(in_executor(lambda: assessor, executor)),
        Stage.scored: DecisionStage(engine, DutyTimeline(engine, lambda: store.policy),
                                    clock=lambda: now),
        Stage.decided: pass_through}
    return Worker(engine, handlers=handlers, config=WorkerConfig(batch_size=batch_size))


async def _post(engine: AsyncEngine, *items: dict[str, object]) -> list[int]:
    async with engine.begin() as conn:
        stored = await store_messages(conn=conn, messages=[MessageIn.model_validate(i)
                                                           for i in items])
    return [s.id for s in stored]


async def _decision(engine: AsyncEngine, message_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(messages_table.c.decision, messages_table.c.stage)
                                  .where(messages_table.c.id == message_id))).one()
    assert row.stage == "notified"
    return dict(row.decision)


def _kinds(decision: dict[str, Any]) -> set[str]:
    return {o["kind"] for o in decision["outcomes"]}


async def test_a_lamp_reported_at_night_waits_for_the_morning_digest(
        engine: AsyncEngine, lite: LiteModel, executor: ThreadPoolExecutor) -> None:
    [message_id] = await _post(engine, message("n1", text="La farola de la calle Real "
                                               "está apagada", mentions=[]))
    await _worker(engine, lite, executor, madrid(25, 22, 48)).drain()
    decision = await _decision(engine, message_id)
    assert decision["category"] == "street_lighting" and _kinds(decision) == {"defer"}
    [defer] = decision["outcomes"]
    assert defer["channel"] == "digest"
    # Carmen starts first, at 07:30 the next morning: the team's digest goes to her.
    assert defer["recipients"] == ["carmen"]
    assert dt.datetime.fromisoformat(defer["at"]) == madrid(26, 7, 30)


async def test_a_fallen_power_line_at_three_pages_and_escalates_until_acknowledged(
        engine: AsyncEngine, lite: LiteModel, executor: ThreadPoolExecutor) -> None:
    [message_id] = await _post(engine, message("p1", text="Hay un cable caído en la calle "
                                               "Mayor, saltan chispas", mentions=[]))
    three = madrid(25, 3)
    await _worker(engine, lite, executor, three).drain()
    decision = await _decision(engine, message_id)
    assert "page" in _kinds(decision) and decision["urgency"] == "emergency"
    async with engine.connect() as conn:
        page = (await conn.execute(select(pages_table))).mappings().one()
    assert (page["person"], page["team"], page["message_id"]) == ("antonio", "lighting",
                                                                 message_id)
    assert page["category"] == "street_lighting"
    assert "cable caído" in page["reason"]
    # Unanswered, it escalates after the chain's delay.
    events = await Escalator(engine, clock=lambda: three + dt.timedelta(minutes=16)).advance()
    assert [e.kind for e in events] == ["escalated"]
    async with engine.connect() as conn:
        kinds = [e.kind for e in await page_events(conn=conn, page_id=page["id"])]
    assert kinds == ["paged", "escalated"]


async def test_an_insulting_request_is_shielded_and_queued_for_moderators(
        engine: AsyncEngine, lite: LiteModel, executor: ThreadPoolExecutor) -> None:
    [message_id] = await _post(engine, message(
        "i1", text="Sois unos inútiles, la basura lleva días sin recoger", mentions=[]))
    await _worker(engine, lite, executor, madrid(25, 10)).drain()
    decision = await _decision(engine, message_id)
    assert "shield" in _kinds(decision)
    staff = [o for o in decision["outcomes"] if o["audience"] == "staff"]
    assert staff and all(o["content"] == "masked" for o in staff)
    async with engine.connect() as conn:
        items = (await conn.execute(select(review_table))).mappings().all()
    assert [(i["message_id"], i["level"]) for i in items] == [(message_id, "abusive")]


async def test_a_muted_authors_message_is_dropped_with_the_reason(
        engine: AsyncEngine, lite: LiteModel, executor: ThreadPoolExecutor) -> None:
    async with engine.begin() as conn:
        await mute_author(conn=conn, source="twitter", handle="@vecina", by="moderator:x",
                          until=madrid(30, 0), now=madrid(20, 0))
    [message_id] = await _post(engine, message("m1", text="Otra vez sin luz en mi calle",
                                               mentions=[]))
    await _worker(engine, lite, executor, madrid(25, 10)).drain()
    decision = await _decision(engine, message_id)
    assert _kinds(decision) == {"drop"}
    assert any("mute" in r for o in decision["outcomes"]
               for r in o["reasons"])


@pytest.mark.parametrize("batch_size", [32, 3])
async def test_a_pile_on_raises_a_single_storm_notice_within_and_across_batches(
        engine: AsyncEngine, lite: LiteModel, executor: ThreadPoolExecutor,
        batch_size: int) -> None:
    insults = [message(f"s{i}", text="@antonio_luz eres un inútil", mentions=["@antonio_luz"],
                       author={"handle": f"@cuenta{i}"}) for i in range(20)]
    ids = await _post(engine, *insults)
    await _worker(engine, lite, executor, madrid(25, 10), batch_size).drain()
    decisions = [await _decision(engine, i) for i in ids]
    notices = [o for d in decisions for o in d["outcomes"]
               if o["content"] == "storm_notice"]
    assert len(notices) >= 1 and len({n["code"] for n in notices}) == 1
    assert sum(1 for d in decisions if d["storm"] and d["storm"]["first"]) == 1
    assert not any(o["audience"] == "staff" and "antonio" in o["recipients"]
                   and o["content"] == "original" for d in decisions
                   for o in d["outcomes"])
