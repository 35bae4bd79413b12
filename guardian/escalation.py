"""The escalation timer loop: advances pages whose time has come, in every worker."""

from __future__ import annotations

import asyncio
import contextlib
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
    def __init__(self, engine: AsyncEngine, *, poll_seconds: float = 5.0,
                 clock: Callable[[], dt.datetime] = utcnow,
                 notify: PageHook | None = None,
                 wake: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._notify = notify
        self._wake = wake  # after events committed: their notifications go at once
        self._poll = poll_seconds
        self._clock = clock
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run_once(self) -> list[PageEvent]:
        events = await advance_due(engine=self._engine, now=self._clock(),
                                   notify=self._notify)
        if events and self._wake is not None:
            self._wake()
        for event in events:
            metrics.PAGE_EVENTS.labels(kind=event.kind).inc()
            log.warning("page %s: %s %s", event.page_id, event.kind, event.person or "")
        return events

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("escalation timers: database error; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll)
