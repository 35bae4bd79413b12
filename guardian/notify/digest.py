"""Digests: at the start of a person's working period, one notification with what waited
for them, grouped by category. Items wait as `waiting` rows (their `due_at` is the start
they wait for); when it comes, the composer locks them, writes the digest and marks them
`digested`, in one transaction. A person still off duty then (an override, a policy
change) has the items moved to their next start; nothing, no digest."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.notify import queue
from guardian.notify.compose import (
    FlagUrl,
    Planned,
    WaitingItem,
    digest_key,
    digest_payload,
    language_of,
)
from guardian.notify.timing import RETRY_WITHOUT_START
from guardian.schedule.availability import Availability
from guardian.storage import outbox
from guardian.storage.db import utcnow
from guardian.types import NotificationKind, NotificationStatus

log = logging.getLogger(__name__)


@dataclass
class DigestComposer:
    """Composes the digests that are due, a job of the engine. `flag_links` signs each
    item's flag link for its person (`guardian.acks.links.FlagLinks`)."""

    engine: AsyncEngine
    duty: Callable[[dt.datetime], Awaitable[Availability | None]]
    base_url: str
    clock: Callable[[], dt.datetime] = utcnow
    flag_links: FlagUrl | None = None
    name: ClassVar[str] = "digests"

    async def run_once(self) -> int:
        return len(await self.compose_due(self.clock()))

    async def compose_due(self, now: dt.datetime) -> list[int]:
        """Compose every digest due at `now`; return the new digests' ids."""
        made: list[int] = []
        avail = await self.duty(now)
        if avail is None:
            return made  # no policy loaded yet: the items keep waiting
        policy = avail.policy
        for person in await outbox.due_digest_recipients(engine=self.engine, now=now):
            async with self.engine.begin() as conn:
                items = await outbox.take_waiting(conn=conn, recipient=person, now=now)
                if not items:
                    continue  # another composer has them
                ids = [i.id for i in items if i.id is not None]
                if person in policy.people and not avail.on_duty(person, now):
                    start = avail.next_start(person, now) or now + RETRY_WITHOUT_START
                    await outbox.postpone_waiting(conn=conn, ids=ids, at=start)
                    log.info("digest for %s: off duty at %s, %d item(s) wait until %s",
                             person, now.isoformat(), len(ids), start.isoformat())
                    continue
                payload = digest_payload(
                    person, [WaitingItem(i.id or 0, i.category, i.payload, i.message_id)
                             for i in items],
                    policy, self.base_url, self.flag_links)
                digest = await queue.put(conn=conn, planned=Planned(
                    recipient=person, kind=NotificationKind.digest,
                    status=NotificationStatus.pending, due_at=now, payload=payload,
                    lang=language_of(policy, person), category=None,
                    idempotency_key=digest_key(person, ids)))
                assert digest.id is not None
                await outbox.mark_digested(conn=conn, ids=ids, digest_id=digest.id)
                made.append(digest.id)
        return made
