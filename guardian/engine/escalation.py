"""The escalation timers as a job: pages whose time has come move one step on, in every
process that runs the engine (rows are the timers: a restart loses none, and a page moves
on once whichever process takes it)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian import metrics
from guardian.storage.db import utcnow
from guardian.storage.models import PageEvent
from guardian.storage.pages import PageHook, advance_due

log = logging.getLogger(__name__)


class Escalator:
    name = "escalation"

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], dt.datetime] = utcnow,
                 notify: PageHook | None = None,
                 wake: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._notify = notify
        self._wake = wake  # after events committed: their notifications go at once
        self._clock = clock

    async def run_once(self) -> int:
        return len(await self.advance())

    async def advance(self) -> list[PageEvent]:
        """Move every page that is due one step on; the events, in order."""
        events = await advance_due(engine=self._engine, now=self._clock(),
                                   notify=self._notify)
        if events and self._wake is not None:
            self._wake()
        for event in events:
            metrics.PAGE_EVENTS.labels(kind=event.kind).inc()
            log.warning("page %s: %s %s", event.page_id, event.kind, event.person or "")
        return events
