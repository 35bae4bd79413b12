"""The weekly summary of the wellbeing report: queued once the week is over, once per
person of HR and the report's readers however many processes run the job and however
often they restart, with the week's figures and the link to the report, and sent through
the outbox outside each person's quiet hours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.report_summary import WeeklySummary, summary_readers
from guardian.engine.timeline import DutyTimeline
from guardian.notify.sender import Sender, SendResult
from guardian.policy.model import Policy
from guardian.storage import outbox
from guardian.storage.models import Notification
from tests.conftest import example_policy
from tests.engine.town import Clock
from tests.wellbeing_week import WEEK_FILE, madrid, replay_week

BASE = "https://guardian.town.test"


def _with_reader(policy: Policy, reader: str) -> Policy:
    moderation = policy.moderation.model_copy(update={"report_readers": [reader]})
    return policy.model_copy(update={"moderation": moderation})


def _small_week(tmp_path: Path) -> Path:
    """Two lines of the replayed week: a lamp that waited for Carmen's digest and a night
    page Antonio acknowledged."""
    lines = [line for line in WEEK_FILE.read_text(encoding="utf-8").splitlines()
             if '"lamp-tue-2300"' in line or "cable-wed-0300" in line]
    path = tmp_path / "week.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _summaries(engine: AsyncEngine) -> list[Notification]:
    c = outbox.notifications_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox.notifications_table).where(
            c.kind == "report").order_by(c.recipient))).mappings().all()
    return [Notification.model_validate(dict(r)) for r in rows]


async def test_one_summary_a_week_to_hr_and_readers_outside_their_quiet_hours(
        engine: AsyncEngine, tmp_path: Path) -> None:
    policy = _with_reader(example_policy(), "elena")
    assert summary_readers(policy) == ["lucia", "elena"]
    await replay_week(engine, policy, _small_week(tmp_path), extras=False)
    clock = Clock(madrid(30, 7, 59))
    job = WeeklySummary(engine, lambda: policy, BASE, clock=clock)
    await job.run_once()
    assert await _summaries(engine) == []  # Monday, before 08:00: not yet

    # The service was down on Monday: on Tuesday at 23:00 the week's summary goes out,
    # from two processes at once, and again after a restart: one each.
    clock.now = madrid(1, 23, month=12)
    await job.run_once()
    await WeeklySummary(engine, lambda: policy, BASE, clock=clock).run_once()
    await WeeklySummary(engine, lambda: policy, BASE, clock=clock).run_once()
    summaries = await _summaries(engine)
    assert [n.recipient for n in summaries] == ["elena", "lucia"]
    for summary in summaries:
        assert summary.idempotency_key == f"report:2026-W48:{summary.recipient}"
        assert summary.payload["link"] == f"{BASE}/report?week=2026-W48"
        # The week's figures: the lamp kept from Carmen's quiet hours, the night page.
        assert (summary.payload["kept"], summary.payload["night_pages"],
                summary.payload["night_acked"], summary.payload["held"]) == (1, 1, 1, 0)
        assert "Semana 48 (23/11\u201329/11/2026)" in summary.body
        assert "Avisos urgentes de noche: 1 (1 confirmados)" in summary.body

    # Sent through the outbox: at 23:00 both are in their quiet hours (Elena's end at
    # 07:00, Lucía's at 08:00); each goes when hers end, once.
    sent: list[tuple[str, dt.datetime]] = []

    async def record(channel: str, notification: Notification) -> SendResult:
        sent.append((notification.recipient, clock.now))
        return SendResult(True, "test://recorder", None, 0.0)

    sender = Sender(engine=engine, policy=lambda: policy, clock=clock,
                    duty=DutyTimeline(engine, lambda: policy).availability, transport=record)
    for now in (madrid(1, 23, month=12), madrid(2, 6, 59, month=12),
                madrid(2, 7, month=12), madrid(2, 8, month=12), madrid(2, 12, month=12)):
        clock.now = now
        await sender.drain()
    assert sent == [("elena", madrid(2, 7, month=12)), ("lucia", madrid(2, 8, month=12))]
    # The week after, nothing new until its own Monday.
    clock.now = madrid(6, 20, month=12)
    await job.run_once()
    assert len(await _summaries(engine)) == 2


async def test_no_summary_of_a_week_before_guardian_stored_anything(
        engine: AsyncEngine, tmp_path: Path) -> None:
    """A new installation: the week that just ended was never seen (the first message
    came after it), so there is nothing to report; the next week gets its summary."""
    policy = example_policy()
    await replay_week(engine, policy, _small_week(tmp_path), extras=False)  # W48 traffic
    clock = Clock(madrid(23, 9))  # Monday of W48: W47 is over, but Guardian saw none of it
    await WeeklySummary(engine, lambda: policy, BASE, clock=clock).run_once()
    assert await _summaries(engine) == []
    clock.now = madrid(30, 9)  # the Monday after: W48 was seen
    await WeeklySummary(engine, lambda: policy, BASE, clock=clock).run_once()
    assert [n.idempotency_key for n in await _summaries(engine)] == ["report:2026-W48:lucia"]
