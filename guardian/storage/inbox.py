"""A person's inbox: the notifications they were sent, newest first, with read state.
Digests themselves are left out (each of their items is in the inbox already), and so are
alerts and tests of channels. What waits for a digest not yet due stays out until it is
due: quiet hours hold it back from the inbox as from the channels (a count says how many
and when)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.models import Notification
from guardian.types import NotificationKind, NotificationStatus

notifications_table = Notification.__table__  # type: ignore[attr-defined]

# What a person reads in their inbox: messages, pages, storm notices, schedule changes.
INBOX_KINDS: tuple[str, ...] = (NotificationKind.deliver.value, NotificationKind.page.value,
                                NotificationKind.storm_notice.value,
                                NotificationKind.schedule.value)
# Not (yet) theirs to read: cancelled before sending (an acknowledged page's later steps).
_HIDDEN = (NotificationStatus.cancelled.value,)


def _theirs(recipient: str, now: dt.datetime) -> ColumnElement[bool]:
    c = notifications_table.c
    where: ColumnElement[bool] = (
        (c.recipient == recipient) & c.kind.in_(INBOX_KINDS) & c.status.not_in(_HIDDEN)
        & ((c.status != NotificationStatus.waiting.value) | (c.due_at <= now)))
    return where


async def inbox(*, engine: AsyncEngine, recipient: str, now: dt.datetime,
                before_id: int | None = None, limit: int = 50) -> list[Notification]:
    c = notifications_table.c
    query = select(notifications_table).where(_theirs(recipient, now))
    if before_id is not None:
        query = query.where(c.id < before_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(c.id.desc()).limit(limit))).mappings().all()
    return [Notification.model_validate(dict(r)) for r in rows]


async def unread_count(*, engine: AsyncEngine, recipient: str, now: dt.datetime) -> int:
    c = notifications_table.c
    async with engine.connect() as conn:
        found = (await conn.execute(select(func.count()).where(
            _theirs(recipient, now), c.read_at.is_(None)))).scalar_one()
    return int(found)


async def held_for_digest(*, engine: AsyncEngine, recipient: str, now: dt.datetime
                          ) -> tuple[int, dt.datetime | None]:
    """How many of the person's notifications wait for a digest not yet due, and when
    the first is due."""
    c = notifications_table.c
    async with engine.connect() as conn:
        count, first = (await conn.execute(select(func.count(), func.min(c.due_at)).where(
            c.recipient == recipient, c.status == NotificationStatus.waiting.value,
            c.due_at > now))).one()
    if isinstance(first, str):  # SQLite answers an aggregate's instant as text
        first = dt.datetime.fromisoformat(first)
    if isinstance(first, dt.datetime) and first.tzinfo is None:
        first = first.replace(tzinfo=dt.UTC)
    return int(count), first if isinstance(first, dt.datetime) else None


async def mark_read(*, engine: AsyncEngine, recipient: str, now: dt.datetime,
                    message_ids: Sequence[int] | None = None) -> int:
    """Mark the person's notifications read: those about `message_ids`, or all those in
    their inbox now. Answers how many were unread."""
    c = notifications_table.c
    where = _theirs(recipient, now) & c.read_at.is_(None)
    if message_ids is not None:
        if not message_ids:
            return 0
        where = where & c.message_id.in_(list(message_ids))
    async with engine.begin() as conn:
        done = await conn.execute(update(notifications_table).where(where).values(read_at=now))
    return int(done.rowcount or 0)
