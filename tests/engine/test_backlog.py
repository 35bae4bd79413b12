"""The `backlog` job (both databases): the admins are told when the oldest message still
waiting has waited longer than the policy's `queue.warn_after_minutes`, once an hour
while it lasts, and not at all when the pipeline keeps up."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.backlog import BacklogWatch
from guardian.schemas import MessageIn
from guardian.storage.messages import store_messages
from guardian.storage.outbox import notifications_table
from guardian.types import NotificationKind
from tests.conftest import example_policy, message

NOW = dt.datetime(2026, 12, 9, 10, 30, tzinfo=dt.UTC)


async def _warnings(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    c = notifications_table.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(c.recipient, c.lang, c.body).where(
            c.kind == NotificationKind.backlog.value).order_by(c.id))
    return [(r.recipient, r.lang, r.body) for r in rows]


async def test_the_admins_hear_once_an_hour_that_the_pipeline_is_behind(
        engine: AsyncEngine) -> None:
    policy = example_policy()  # delivery.admins: lucia; queue.warn_after_minutes: 5
    woken: list[int] = []
    clock = [NOW]
    job = BacklogWatch(engine, lambda: policy, wake=lambda: woken.append(1),
                       clock=lambda: clock[0])
    async with engine.begin() as conn:
        await store_messages(conn=conn, now=NOW - dt.timedelta(minutes=4), messages=[
            MessageIn.model_validate(message(str(n))) for n in range(3)])
    await job.run_once()
    assert await _warnings(engine) == [] and not woken  # 4 minutes: keeping up
    clock[0] = NOW + dt.timedelta(minutes=13)
    await job.run_once()
    [(who, lang, body)] = await _warnings(engine)
    assert (who, lang) == ("lucia", "es") and woken
    assert body.startswith("Guardian va con retraso: 3 mensaje(s) esperan")
    assert "el más antiguo lleva 17 min" in body
    clock[0] = NOW + dt.timedelta(minutes=25)  # the same hour: not again
    await job.run_once()
    assert len(await _warnings(engine)) == 1
    clock[0] = NOW + dt.timedelta(minutes=31)  # the next hour, still behind: again
    await job.run_once()
    assert len(await _warnings(engine)) == 2
