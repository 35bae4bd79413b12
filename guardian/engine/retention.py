"""The retention job: citizens' data kept in clear only as long as the policy's
`retention` says (docs/privacy.md). Each round, with the rows past their time:

- messages received more than `message_days` ago: text, masked text, handle (hashed),
  name, link, mentions and scores replaced; the decision's category, level and outcomes
  stay (reports count them), its author hashed;
- notifications created more than `notification_days` ago and no longer pending or
  waiting: body and payload emptied;
- audit entries older than `audit_years`: deleted.

Idempotent: a row done is not done again (`[expired]` marks it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.privacy import author_digest
from guardian.policy.model import Policy
from guardian.storage.audit import audit, audit_table
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table
from guardian.storage.outbox import notifications_table
from guardian.types import NotificationStatus

EXPIRED = "[expired]"
BATCH = 500


@dataclass
class Retention:
    engine: AsyncEngine
    policy: Callable[[], Policy | None]
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    name: ClassVar[str] = "retention"

    async def run_once(self) -> int:
        policy = self.policy()
        if policy is None:
            return 0
        return await expire(self.engine, policy, self.clock())


async def expire(engine: AsyncEngine, policy: Policy, now: dt.datetime) -> int:
    """One round; how many rows it changed."""
    keep = policy.retention
    m, n = messages_table.c, notifications_table.c
    done = 0
    async with engine.begin() as conn:
        old = (await conn.execute(
            select(m.id, m.source, m.author_handle, m.decision)
            .where(m.received_at < now - dt.timedelta(days=keep.message_days),
                   m.text != EXPIRED).limit(BATCH))).all()
        for ident, source, handle, decision in old:
            digest = author_digest(source, handle.casefold().lstrip("@"))
            kept = dict(decision) if decision else None
            if kept is not None:
                kept["message"] = {**kept.get("message", {}), "author": f"expired:{digest}"}
            await conn.execute(update(messages_table).where(m.id == ident).values(
                text=EXPIRED, masked_text=EXPIRED, author_handle=f"expired:{digest}",
                author_name=None, url=None, mentions=[], in_reply_to=None, assessment=None,
                decision=kept))
        done += len(old)
        moved = await conn.execute(
            update(notifications_table)
            .where(n.created_at < now - dt.timedelta(days=keep.notification_days),
                   n.status.not_in([NotificationStatus.pending.value,
                                    NotificationStatus.waiting.value]),
                   n.body != EXPIRED)
            .values(body=EXPIRED, payload={}))
        done += int(moved.rowcount or 0)
        gone = await conn.execute(delete(audit_table).where(
            audit_table.c.at < now - dt.timedelta(days=365 * keep.audit_years)))
        done += int(gone.rowcount or 0)
        if done:
            await audit(conn=conn, actor="retention", action="retention.expire",
                        subject="retention", details={"messages": len(old),
                                                      "notifications": moved.rowcount or 0,
                                                      "audit": gone.rowcount or 0}, at=now)
    return done
