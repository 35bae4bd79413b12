"""Nothing parked for a cause that is not the message's: while no policy is loaded the
decision stage lets messages wait (no attempt counted, never parked) and they are decided
once one loads; messages parked for their own failures can be re-driven (API and CLI),
audited."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.decision_stage import DecisionStage
from guardian.engine.pipeline import WAIT_SECONDS, StageHandler, Worker, WorkerConfig, pass_through
from guardian.engine.scoring_stage import ScoringStage
from guardian.engine.timeline import DutyTimeline
from guardian.policy.model import Policy
from guardian.schemas import MessageIn
from guardian.scoring.assessor import Assessment, assessor_for
from guardian.scoring.lite import LiteModel
from guardian.storage.audit import audit_table
from guardian.storage.db import create_engine
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.migrate import upgrade
from guardian.types import Role, Stage
from guardian.web.app import init_app
from tests.commands import env_for, run
from tests.conftest import (
    POLICIES,
    Client,
    Database,
    bearer,
    example_policy,
    message,
    with_settings,
)

T0 = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)


async def _store(engine: AsyncEngine, *texts: str) -> list[int]:
    async with engine.begin() as conn:
        stored = await store_messages(conn=conn, now=T0, messages=[
            MessageIn.model_validate(message(f"w{n}", text=t)) for n, t in enumerate(texts)])
    return [s.id for s in stored]


async def _rows(engine: AsyncEngine) -> list[tuple[str, int, bool]]:
    m = messages_table.c
    async with engine.connect() as conn:
        found = (await conn.execute(select(m.stage, m.attempts, m.failed_at)
                                    .order_by(m.id))).all()
    return [(stage, attempts, failed is not None) for stage, attempts, failed in found]


async def test_without_a_policy_messages_wait_uncounted_and_go_on_once_it_loads(
        engine: AsyncEngine) -> None:
    loaded: list[Policy | None] = [None]
    now = [T0]
    assessor = assessor_for(LiteModel(), example_policy())

    async def assess(texts: Sequence[str], hints: Sequence[str | None]) -> list[Assessment]:
        return assessor.assess(list(texts), list(hints))

    handlers: dict[Stage, StageHandler] = {
        Stage.received: ScoringStage(assess),
        Stage.scored: DecisionStage(engine, DutyTimeline(engine, lambda: loaded[0]),
                                    clock=lambda: now[0]),
        Stage.decided: pass_through}
    worker = Worker(engine, handlers=handlers, clock=lambda: now[0],
                    config=WorkerConfig(max_attempts=2))
    await _store(engine, "La farola de la calle Real está apagada", "Hay basura en la plaza")
    # Far more rounds than `max_attempts`, each after the wait: nothing is parked.
    for _ in range(6):
        await worker.drain()
        now[0] += dt.timedelta(seconds=WAIT_SECONDS + 1)
    assert await _rows(engine) == [("scored", 0, False), ("scored", 0, False)]
    loaded[0] = example_policy()  # HR fixes the files
    await worker.drain()
    assert [stage for stage, *_ in await _rows(engine)] == ["notified", "notified"]


async def test_parked_messages_are_redriven_through_the_api_and_audited(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    ids = await _store(engine, "uno", "dos", "tres")
    async with engine.begin() as conn:
        await conn.execute(messages_table.update().where(messages_table.c.id.in_(ids[:2]))
                           .values(failed_at=T0, attempts=5))
    path = "/api/v1/messages/retry"
    admin = bearer(tokens[Role.admin])
    assert (await client.post(path, json={"ids": [ids[0]]},
                              headers=bearer(tokens[Role.hr]))).status == 403
    bad = await client.post(path, json={"ids": [ids[0]], "failed": True}, headers=admin)
    assert bad.status == 422
    done = await client.post(path, json={"ids": [ids[0], ids[2]]}, headers=admin)
    assert (await done.json())["retried"] == [ids[0]]  # the third was never parked
    assert [(a, f) for _, a, f in await _rows(engine)] == [(0, False), (5, True), (0, False)]
    everything = await client.post(path, json={"failed": True}, headers=admin)
    assert (await everything.json())["retried"] == [ids[1]]
    async with engine.connect() as conn:
        actions = (await conn.execute(select(audit_table.c.action, audit_table.c.details)
                                      .where(audit_table.c.action == "messages.retry"))).all()
    assert [details["ids"] for _, details in actions] == [[ids[0]], [ids[1]]]


def test_the_cli_redrives_parked_messages(database: Database) -> None:
    async def park() -> list[int]:
        engine = create_engine(database.url)
        try:
            await upgrade(engine)
            ids = await _store(engine, "uno")
            async with engine.begin() as conn:
                await conn.execute(messages_table.update().values(failed_at=T0, attempts=5))
            return ids
        finally:
            await engine.dispose()

    async def rows() -> list[tuple[str, int, bool]]:
        engine = create_engine(database.url)
        try:
            return await _rows(engine)
        finally:
            await engine.dispose()

    ids = asyncio.run(park())
    shown = run("messages", "retry", "--ids", str(ids[0]), env=env_for(database))
    assert shown.returncode == 0, shown.stderr
    assert "1 message(s) back in the queue" in shown.stdout
    assert asyncio.run(rows()) == [("received", 0, False)]
    assert run("messages", "retry", env=env_for(database)).returncode == 2


async def test_a_policy_broken_at_start_then_fixed_loses_nothing(
        aiohttp_client: Any, settings: Any, engine: AsyncEngine, tokens: dict[Role, str],
        tmp_path: Path) -> None:
    """The live service started on a policy that does not parse: messages are accepted
    (202) and wait, /health is 503 and says why; HR fixes the file; the service reloads it
    and every message is decided, none parked."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    teams = policies / "teams.yaml"
    good = teams.read_text(encoding="utf-8")
    teams.write_text(good + "\n  - id: [broken\n", encoding="utf-8")
    client = await aiohttp_client(init_app(with_settings(
        settings, policies_dir=policies, policy_poll_seconds=0.1, worker_poll_seconds=0.05)))
    posted = await client.post("/api/v1/messages", headers=bearer(tokens[Role.ingest]),
                               json=[message(f"b{n}", text="La farola de la calle Real")
                                     for n in range(5)])
    assert posted.status == 202
    health = await client.get("/health")
    assert health.status == 503
    await asyncio.sleep(1.0)  # the worker has tried (and let them wait)
    assert all(stage == "scored" and not parked for stage, _, parked in await _rows(engine))
    teams.write_text(good, encoding="utf-8")  # fixed

    async def decided() -> bool:
        return all(stage == "notified" for stage, _, _ in await _rows(engine))

    for _ in range(200):
        if await decided():
            break
        await asyncio.sleep(0.1)
    assert await decided(), await _rows(engine)
    assert (await client.get("/health")).status == 200
    assert not any(parked for _, _, parked in await _rows(engine))
