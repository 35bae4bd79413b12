"""The scoring stage in the pipeline: assessments stored and shown; failures retried."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.pipeline import StageHandler, Worker, pass_through
from guardian.engine.scoring_stage import ScoringStage, in_executor
from guardian.schemas import MessageIn
from guardian.scoring.assessor import Assessor
from guardian.scoring.lite import LiteModel
from guardian.storage.messages import messages_table, store_messages
from guardian.types import LabelScores, Role, Stage
from tests.conftest import Client, bearer, message


async def _wait_for_stage(client: Client, token: str, message_id: int, stage: str
                          ) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(200):
        body = await (await client.get(f"/api/v1/messages/{message_id}",
                                       headers=bearer(token))).json()
        if body["stage"] == stage:
            break
        await asyncio.sleep(0.05)
    return body


async def test_a_posted_message_is_scored_and_its_assessment_shown(
        live_client: Client, tokens: dict[Role, str]) -> None:
    posted = await live_client.post("/api/v1/messages", headers=bearer(tokens[Role.ingest]),
                                    json=message("s1", text="Sois unos inútiles, la farola "
                                                 "sigue rota", lang=None))
    message_id = (await posted.json())["ids"][0]
    body = await _wait_for_stage(live_client, tokens[Role.moderator], message_id, "notified")
    assessment = body["assessment"]
    assert assessment["level"] == "abusive"
    assert assessment["masked_text"] == "Sois unos [insulto], la farola sigue rota"
    assert assessment["lang"] == "es" and assessment["covered"] is True
    assert assessment["scorer"]["name"] == "lite"
    assert set(assessment["labels"]) >= {"toxicity", "insult", "threat"}
    # Outside a claim, moderators read the masked text.
    assert body["text"] == "Sois unos [insulto], la farola sigue rota"


class BrokenModel:
    name, variant, version = "broken", "test", "0"
    languages = frozenset({"es"})

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        raise MemoryError("model out of memory")


async def test_a_scorer_failure_leaves_the_message_queued_for_retry(
        engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(
            message("f1"))])
    executor = ThreadPoolExecutor(max_workers=1)
    broken = Assessor(model=BrokenModel())
    worker = Worker(engine, handlers={
        Stage.received: ScoringStage(in_executor(lambda: broken, executor))})
    assert await worker.run_once() == 1
    async with engine.connect() as conn:
        row = (await conn.execute(select(messages_table))).mappings().one()
    assert row["stage"] == "received" and row["failed_at"] is None
    assert row["last_error"] == "MemoryError: model out of memory"
    assert row["assessment"] is None

    # The model recovers: the retry scores it and it moves on, nothing lost.
    working = Assessor(model=LiteModel())
    handlers: dict[Stage, StageHandler] = {
        Stage.received: ScoringStage(in_executor(lambda: working, executor)),
        Stage.scored: pass_through, Stage.decided: pass_through}
    later = Worker(engine, handlers=handlers,
                   clock=lambda: row["available_at"])  # exactly when the back-off ends
    await later.drain()
    executor.shutdown()
    async with engine.connect() as conn:
        row = (await conn.execute(select(messages_table))).mappings().one()
    assert row["stage"] == "notified" and row["id"] == stored.id
    assert row["assessment"]["level"] == "none"
