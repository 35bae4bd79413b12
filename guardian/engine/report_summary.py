"""The `report-summary` job: once a week, when the week is over (Monday 08:00 on the town's
clock), each person of `moderation.hr` and `moderation.report_readers` is sent a short
summary of the wellbeing report, with the link to the whole of it.

It goes through the outbox like any notification: on the person's channels, in their
language, never in their quiet hours (the sender holds a `report` notification until
they end, as it holds a schedule change). Every `serve` and `worker` process runs the job;
the notification's idempotency key (the week and the person) makes one summary of all of
them, however often they restart. A process that was down on Monday sends it when it is
back, for the last week that is over (never for older ones), and only for a week that
ended after the first message Guardian stored: a new installation does not report on a
week it never saw.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.notify.compose import language_of
from guardian.notify.render import render
from guardian.policy.model import Policy
from guardian.report.summary import due, summary_key, summary_payload
from guardian.report.wellbeing import last_complete_week
from guardian.schedule.localtime import zone
from guardian.storage import outbox
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table
from guardian.storage.report import wellbeing_report
from guardian.types import NotificationKind

log = logging.getLogger(__name__)


def summary_readers(policy: Policy) -> list[str]:
    """Who gets the summary: HR, then the report's other readers, each once."""
    moderation = policy.moderation
    return [p for p in dict.fromkeys([*moderation.hr, *moderation.report_readers])
            if p in policy.people]


@dataclass
class WeeklySummary:
    engine: AsyncEngine
    policy: Callable[[], Policy | None]
    base_url: str
    wake: Callable[[], None] = lambda: None
    clock: Callable[[], dt.datetime] = utcnow
    name: ClassVar[str] = "report-summary"
    # The week and the people already seen queued: nothing to ask the database until
    # either changes.
    _done: tuple[str, frozenset[str]] | None = field(default=None, init=False)

    async def run_once(self) -> int:
        """Queue the week's summaries that are due and missing; how many were queued."""
        policy = self.policy()
        if policy is None:
            return 0
        now = self.clock()
        tz = zone(policy.town.timezone)
        week = last_complete_week(now, tz)
        readers = summary_readers(policy)
        if now < due(week, tz) or not readers or self._done == (week.label, frozenset(readers)):
            return 0
        keys = {summary_key(week, p): p for p in readers}
        c = outbox.notifications_table.c
        async with self.engine.connect() as conn:
            queued = set((await conn.execute(select(c.idempotency_key).where(
                c.idempotency_key.in_(sorted(keys))))).scalars())
            m = messages_table.c
            # The column's type (UTCDateTime) answers an aware instant on both databases.
            first = (await conn.execute(select(func.min(m.received_at)))).scalar()
        missing = [p for key, p in keys.items() if key not in queued]
        if missing and first is not None and first < week.end:
            report, _ = await wellbeing_report(self.engine, policy, week)
            payload = summary_payload(report, self.base_url)
            async with self.engine.begin() as conn:
                for person in missing:
                    lang = language_of(policy, person)
                    await outbox.enqueue(
                        conn=conn, recipient=person, kind=NotificationKind.report,
                        body=render(NotificationKind.report.value, lang, payload).body,
                        payload=payload, lang=lang, due_at=now,
                        idempotency_key=summary_key(week, person))
            log.info("wellbeing summary of %s queued for %s", week.label, ", ".join(missing))
            self.wake()
        self._done = (week.label, frozenset(readers))
        return 0
