"""The example town's pipeline and notifier on one clock, every person's channel a path
on one JSON receiver: the engine's flow tests (`town` is a fixture of tests/engine/conftest.py)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import FlagLinks, read_flag_token
from guardian.engine.decision_stage import DecisionStage, Notifying
from guardian.engine.notifier import Notifier
from guardian.engine.pipeline import StageHandler, Worker, WorkerConfig, pass_through
from guardian.engine.scoring_stage import ScoringStage, in_executor
from guardian.engine.timeline import DutyTimeline
from guardian.notify.digest import DigestComposer
from guardian.notify.paging import PageNotifier
from guardian.notify.sender import Sender, SenderConfig
from guardian.policy.model import Policy
from guardian.schemas import MessageIn
from guardian.scoring.assessor import assessor_for
from guardian.scoring.lite import LiteModel
from guardian.storage import outbox
from guardian.storage.messages import store_messages
from guardian.storage.models import Notification
from guardian.types import Stage
from tests.conftest import message
from tests.receivers import JsonReceiver

MADRID = ZoneInfo("Europe/Madrid")
SECRET = "a-test-secret-that-is-long-enough-for-links"
BASE = "https://guardian.town.test"
PEOPLE = ("lucia", "antonio", "carmen", "jose", "maria", "elena", "pablo", "raquel")
FLAGS = FlagLinks(secret=SECRET, base_url=BASE)


def madrid(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=MADRID)


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Town:
    """The example town's pipeline and notifier, on one clock, every person's channel a
    path on one JSON receiver."""

    engine: AsyncEngine
    policy: Policy
    receiver: JsonReceiver
    clock: Clock
    executor: ThreadPoolExecutor
    lite: LiteModel
    timeline: DutyTimeline = field(init=False)
    pages: PageNotifier = field(init=False)

    def __post_init__(self) -> None:
        self.timeline = DutyTimeline(self.engine, lambda: self.policy)
        self.pages = PageNotifier(policy=lambda: self.policy, secret=SECRET, base_url=BASE)

    def worker(self) -> Worker:
        assessor = assessor_for(self.lite, self.policy)
        handlers: dict[Stage, StageHandler] = {
            Stage.received: ScoringStage(in_executor(lambda: assessor, self.executor)),
            Stage.scored: DecisionStage(self.engine, self.timeline, clock=self.clock,
                                        notifying=Notifying(BASE, self.pages,
                                                            flag_links=FLAGS)),
            Stage.decided: pass_through}
        return Worker(self.engine, handlers=handlers, config=WorkerConfig(batch_size=32))

    def notifier(self) -> Notifier:
        """A fresh notifier, as a restarted process would build it."""
        sender = Sender(engine=self.engine, policy=lambda: self.policy, clock=self.clock,
                        config=SenderConfig(retry_base_seconds=1.0),
                        duty=self.timeline.availability)
        return Notifier(sender, DigestComposer(self.engine, self.timeline.availability, BASE,
                                               clock=self.clock, flag_links=FLAGS))

    async def post(self, *texts: str) -> list[int]:
        async with self.engine.begin() as conn:
            stored = await store_messages(conn=conn, messages=[
                MessageIn.model_validate(message(f"m{n}-{self.clock.now.timestamp()}",
                                                 text=t, mentions=[]))
                for n, t in enumerate(texts)])
        return [s.id for s in stored]

    async def decide(self, *texts: str) -> list[int]:
        ids = await self.post(*texts)
        await self.worker().drain()
        return ids

    async def deliver(self) -> None:
        notifier = self.notifier()
        for _ in range(20):
            if await notifier.run_once() == 0:
                break

    def at(self, when: dt.datetime) -> None:
        self.clock.now = when

    def got(self, person: str) -> list[str]:
        return [p.json["message"] for p in self.receiver.posts if p.path == f"/{person}"]

    async def rows(self, person: str | None = None) -> list[Notification]:
        c = outbox.notifications_table.c
        query = select(outbox.notifications_table).order_by(c.id)
        if person is not None:
            query = query.where(c.recipient == person)
        async with self.engine.connect() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [Notification.model_validate(dict(r)) for r in found]


def flag_claim(text: str) -> tuple[int, str]:
    """The (message, person) the flag link in a notification's text names."""
    link = text[text.index(f"{BASE}/flag/"):].split()[0]
    claim = read_flag_token(SECRET, link.rsplit("/", 1)[1])
    return claim.message_id, claim.person


LAMP = "La farola de la calle Real está apagada"
POWER_LINE = "Hay un cable caído en la calle Mayor, saltan chispas"
