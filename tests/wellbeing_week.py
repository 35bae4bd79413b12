"""A week of the example town replayed through the live engine (the machinery of `guardian
simulate`: scoring, decisions, escalation timers, the outbox's send-time rules, digests) on
a test's own database, so that the wellbeing report's figures are known: see
tests/data/report-week.jsonl and tests/storage/test_report.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.simulate import Simulation, read_replay
from guardian.policy.model import Policy
from guardian.report.wellbeing import Week, parse_week
from guardian.review.exposure import count_exposure
from guardian.scoring.assessor import assessor_for
from guardian.scoring.lite import LiteModel
from guardian.storage.overrides import create_override
from guardian.storage.pages import acknowledge, pages_table
from guardian.types import OverrideStatus
from tests.conftest import ROOT

WEEK_FILE = ROOT / "tests" / "data" / "report-week.jsonl"
MADRID = ZoneInfo("Europe/Madrid")
WEEK = parse_week("2026-W48", MADRID)
# Who acknowledges each page of the replay, as the signed link or a reply records them.
ACKS = {"cable-wed-0300": "link:antonio", "cable-thu-1200": "staff:antonio",
        "fire-sat-2330": "reply:raquel"}
# María's readings of abusive items: three on Tuesday, the day's limit (60) on Wednesday,
# and two the Monday after (another week).
READINGS = {dt.date(2026, 11, 24): 3, dt.date(2026, 11, 25): 60, dt.date(2026, 11, 30): 2}


def madrid(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=MADRID)


class WeekReplay(Simulation):
    """The simulator, with each acknowledgement made by the person who answered (the
    simulator's own records `simulate`)."""

    async def _ack(self, engine: AsyncEngine, key: str, now: dt.datetime) -> None:
        ident = next(i for i, k in self._external.items() if k == key)
        async with engine.begin() as conn:
            page_id = (await conn.execute(select(pages_table.c.id).where(
                pages_table.c.message_id == ident))).scalars().first()
            assert page_id is not None, key
            assert await acknowledge(conn=conn, page_id=page_id, actor=ACKS[key],
                                     now=now) is not None, key


async def replay_week(engine: AsyncEngine, policy: Policy, path: Path = WEEK_FILE,
                      *, extras: bool = True) -> Week:
    """The week of `path` through the engine on `engine`; with `extras`, also what the
    replay format has no line for: María's readings, and the override of the week before
    (Antonio covers Carmen's on-call week, so he is on call three weeks running)."""
    if extras:
        async with engine.begin() as conn:
            await create_override(
                conn=conn, team="lighting", kind="replace", person="antonio",
                replaces="carmen", starts_at=madrid(16, 8), ends_at=madrid(23, 8),
                reason="cover", created_by="hr:test", status=OverrideStatus.active)
            for day, views in READINGS.items():
                for _ in range(views):
                    assert await count_exposure(conn=conn, moderator="moderator:maria",
                                                day=day, limit=60) is not None
    simulation = WeekReplay(policy=policy, assessor=assessor_for(LiteModel(), policy))
    await simulation._replay(engine, read_replay(path))
    return WEEK
