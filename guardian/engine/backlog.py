"""The `backlog` job: when the pipeline falls behind (the oldest message still waiting to
be scored and decided has waited longer than the policy's `queue.warn_after_minutes`), the
admins are told on their channels, at most once an hour while it lasts: a pile-on or a
slow scorer must not go unnoticed until a citizen's urgent report has waited for it.

Every `serve` and `worker` process runs it; the notification's idempotency key (the hour
and the admin) makes one warning of all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.notify.compose import language_of
from guardian.notify.render import render
from guardian.policy.model import Policy
from guardian.storage import outbox
from guardian.storage.db import utcnow
from guardian.storage.messages import count_by_stage, oldest_waiting, pending_count
from guardian.types import NotificationKind


@dataclass
class BacklogWatch:
    engine: AsyncEngine
    policy: Callable[[], Policy | None]
    wake: Callable[[], None] = lambda: None
    clock: Callable[[], dt.datetime] = utcnow
    name: ClassVar[str] = "backlog"

    async def run_once(self) -> int:
        """Warn if behind; always 0 (the loop looks again at its next poll)."""
        policy = self.policy()
        if policy is None:
            return 0
        oldest = await oldest_waiting(engine=self.engine)
        now = self.clock()
        threshold = policy.queue.warn_after_minutes
        if oldest is None or now - oldest <= dt.timedelta(minutes=threshold):
            return 0
        admins = policy.admin_contacts()
        depth = pending_count(await count_by_stage(engine=self.engine))
        payload = {"depth": depth,
                   "oldest_minutes": int((now - oldest).total_seconds() // 60),
                   "threshold_minutes": threshold}
        queued = False
        async with self.engine.begin() as conn:
            for admin in admins:
                lang = language_of(policy, admin)
                await outbox.enqueue(
                    conn=conn, recipient=admin, kind=NotificationKind.backlog,
                    body=render(NotificationKind.backlog.value, lang, payload).body,
                    payload=payload, lang=lang, due_at=now,
                    idempotency_key=f"backlog:{now:%Y-%m-%dT%H}:{admin}")
                queued = True
        if queued:
            self.wake()
        return 0
