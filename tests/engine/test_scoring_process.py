"""Scoring in a process of its own (`GUARDIAN_SCORING_PROCESS=true`): the same assessments
as in a thread, the current policy's, and a child that dies is replaced without losing the
batch it was scoring."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from guardian.config.settings import Settings
from guardian.engine.scoring_stage import ScoringState
from guardian.policy.model import Policy
from guardian.types import Role
from guardian.web.app import init_app
from guardian.web.keys import scoring_key
from tests.conftest import bearer, example_policy, message

TEXTS = ["la farola de la plaza no enciende", "Sois unos inútiles, la farola sigue rota",
         "the bin on Main Street is full", "el vecino es un zascandil"]
HINTS: list[str | None] = ["es", "es", None, "es"]


def _policy(extra_insult: str | None = None) -> Policy:
    policy = example_policy()
    if extra_insult is None:
        return policy
    data = policy.model_dump(mode="json")
    data["harassment"]["lexicons"].setdefault("es", {}).setdefault("insult", []).append(
        extra_insult)
    return Policy.model_validate(data)


@pytest.fixture
async def in_process(settings: Settings) -> AsyncIterator[ScoringState]:
    state = await ScoringState.start(replace(settings, scorer="lite", scoring_process=True),
                                     _policy())
    yield state
    state.close()


async def test_a_scoring_process_assesses_as_the_thread_does(
        settings: Settings, in_process: ScoringState) -> None:
    in_thread = await ScoringState.start(replace(settings, scorer="lite"), _policy())
    try:
        expected = await in_thread.assess(TEXTS, HINTS)
        assert await in_process.assess(TEXTS, HINTS) == expected
        assert in_process.status == in_thread.status
    finally:
        in_thread.close()
    assert [a.level for a in expected][:2] == ["none", "abusive"]
    assert in_process.process is not None
    child = in_process.process.pid()
    assert child is not None and child != os.getpid()


async def test_a_reloaded_policy_reaches_the_scoring_process(
        in_process: ScoringState) -> None:
    [before] = await in_process.assess(["el vecino es un zascandil"], ["es"])
    in_process.use_policy(_policy(extra_insult="zascandil"))
    [after] = await in_process.assess(["el vecino es un zascandil"], ["es"])
    assert before.level == "none"
    assert after.level == "abusive" and after.masked_text == "el vecino es un [insulto]"


async def test_a_dead_scoring_process_fails_its_batch_and_is_replaced(
        in_process: ScoringState) -> None:
    expected = await in_process.assess(TEXTS, HINTS)
    assert in_process.process is not None
    dead = in_process.process.pid()
    assert dead is not None
    os.kill(dead, signal.SIGKILL)
    # The batch it was given fails (the worker retries it) ...
    with pytest.raises(BrokenProcessPool):
        for _ in range(100):  # until the pool has noticed the death
            await in_process.assess(TEXTS, HINTS)
            await asyncio.sleep(0.05)
    # ... and the next one is scored by a new child, with the model loaded again.
    assert await in_process.assess(TEXTS, HINTS) == expected
    assert in_process.process.pid() not in (None, dead)


async def test_guardian_serve_scores_in_its_scoring_process(
        aiohttp_client: AiohttpClient, settings: Settings, tokens: dict[Role, str]) -> None:
    app = init_app(replace(settings, scoring_process=True))
    client = await aiohttp_client(app)
    posted = await client.post("/api/v1/messages", headers=bearer(tokens[Role.ingest]),
                               json=message("p1", text="Sois unos inútiles, la farola sigue rota"))
    message_id = (await posted.json())["ids"][0]
    body: dict[str, Any] = {}
    for _ in range(400):
        body = await (await client.get(f"/api/v1/messages/{message_id}",
                                       headers=bearer(tokens[Role.moderator]))).json()
        if body["stage"] == "notified":
            break
        await asyncio.sleep(0.05)
    assert body["stage"] == "notified"
    assert body["assessment"]["masked_text"] == "Sois unos [insulto], la farola sigue rota"
    process = app[scoring_key].process
    assert process is not None and process.pid() not in (None, os.getpid())
    health = await (await client.get("/health")).json()
    scorer = health["checks"]["scorer"]["info"]
    assert scorer["active"] == "lite" and scorer["own_process"] is True
