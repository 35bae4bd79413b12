"""Reading the notification outbox and its delivery log (the API's view; the sender writes
through `guardian.storage.outbox`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.storage.models import DeliveryAttempt, Notification
from guardian.types import NotificationStatus

notifications_table = Notification.__table__  # type: ignore[attr-defined]
attempts_table = DeliveryAttempt.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NotificationQuery:
    """Filters of the delivery log; None (or empty) means any."""

    recipient: str | None = None
    statuses: Sequence[str] = ()
    kinds: Sequence[str] = ()
    message_id: int | None = None
    page_id: int | None = None
    since: dt.datetime | None = None      # created_at >= since
    until: dt.datetime | None = None      # created_at < until
    before_id: int | None = None          # keyset cursor: ids below this one


@dataclass(frozen=True)
class LoggedNotification:
    """A notification with its delivery attempts, oldest attempt first."""

    notification: Notification
    attempts: list[DeliveryAttempt] = field(default_factory=list)


def _conditions(query: NotificationQuery) -> list[ColumnElement[bool]]:
    c = notifications_table.c
    where: list[ColumnElement[bool]] = []
    if query.recipient is not None:
        where.append(c.recipient == query.recipient)
    if query.statuses:
        where.append(c.status.in_(list(query.statuses)))
    if query.kinds:
        where.append(c.kind.in_(list(query.kinds)))
    if query.message_id is not None:
        where.append(c.message_id == query.message_id)
    if query.page_id is not None:
        where.append(c.page_id == query.page_id)
    if query.since is not None:
        where.append(c.created_at >= query.since)
    if query.until is not None:
        where.append(c.created_at < query.until)
    if query.before_id is not None:
        where.append(c.id < query.before_id)
    return where


async def attempts_for(*, conn: AsyncConnection, notification_ids: Sequence[int]
                       ) -> dict[int, list[DeliveryAttempt]]:
    """The attempts of several notifications in one query, by notification id."""
    found: dict[int, list[DeliveryAttempt]] = {i: [] for i in notification_ids}
    if not notification_ids:
        return found
    c = attempts_table.c
    rows = (await conn.execute(
        select(attempts_table).where(c.notification_id.in_(list(notification_ids)))
        .order_by(c.notification_id, c.id))).mappings().all()
    for row in rows:
        attempt = DeliveryAttempt.model_validate(dict(row))
        found[attempt.notification_id].append(attempt)
    return found


async def list_notifications(*, engine: AsyncEngine, query: NotificationQuery, limit: int
                             ) -> list[LoggedNotification]:
    """Up to `limit` notifications matching `query`, newest (highest id) first, each with
    its attempts: two queries whatever the page size."""
    c = notifications_table.c
    statement = (select(notifications_table).where(*_conditions(query))
                 .order_by(c.id.desc()).limit(limit))
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).mappings().all()
        found = [Notification.model_validate(dict(r)) for r in rows]
        attempts = await attempts_for(conn=conn, notification_ids=[n.id or 0 for n in found])
    return [LoggedNotification(n, attempts[n.id or 0]) for n in found]


async def get_logged(*, engine: AsyncEngine, notification_id: int
                     ) -> LoggedNotification | None:
    """One notification with its attempts, or None."""
    c = notifications_table.c
    async with engine.connect() as conn:
        row = (await conn.execute(select(notifications_table)
                                  .where(c.id == notification_id))).mappings().first()
        if row is None:
            return None
        notification = Notification.model_validate(dict(row))
        attempts = await attempts_for(conn=conn, notification_ids=[notification_id])
    return LoggedNotification(notification, attempts[notification_id])


async def count_by_status(*, engine: AsyncEngine) -> dict[str, int]:
    """Notifications per status, every status present (0 when none)."""
    c = notifications_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(c.status, func.count()).group_by(c.status))).all()
    counts = {status.value: 0 for status in NotificationStatus}
    for status, n in rows:
        counts[str(status)] = counts.get(str(status), 0) + int(n)
    return counts


async def backlog(*, engine: AsyncEngine, now: dt.datetime
                  ) -> list[tuple[str, int, int, dt.datetime]]:
    """Notifications due and not yet sent, per (recipient, channel tried): the count and
    the oldest due time. Waiting for a retry after failures shows here; what waits for a
    digest or the end of quiet hours is not due yet, so it does not."""
    c = notifications_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(c.recipient, c.channel_index, func.count(), func.min(c.due_at))
            .where(c.status == NotificationStatus.pending.value, c.due_at <= now,
                   c.attempts + c.channel_index > 0)
            .group_by(c.recipient, c.channel_index))).all()
    return [(str(r), int(i), int(n), oldest if oldest.tzinfo else oldest.replace(
        tzinfo=dt.UTC)) for r, i, n, oldest in rows]


@dataclass(frozen=True)
class ChannelDeliveries:
    """The delivery log of one person's channel (by its place in their list): the last
    attempt that worked and the last that failed, each with the URL masked as logged."""

    recipient: str
    channel_index: int
    attempts: int
    last_ok: DeliveryAttempt | None
    last_failure: DeliveryAttempt | None


async def last_deliveries(*, engine: AsyncEngine) -> list[ChannelDeliveries]:
    """Per (recipient, channel tried), the attempts logged and the last good and last failed
    one: what an admin needs to see whether a channel still works."""
    a = attempts_table.c
    n = notifications_table.c
    async with engine.connect() as conn:
        groups = (await conn.execute(
            select(n.recipient, a.channel_index, func.count(),
                   func.max(a.id).filter(a.ok.is_(True)),
                   func.max(a.id).filter(a.ok.is_(False)))
            .select_from(attempts_table.join(notifications_table,
                                             n.id == a.notification_id))
            .group_by(n.recipient, a.channel_index)
            .order_by(n.recipient, a.channel_index))).all()
        wanted = sorted({int(i) for g in groups for i in (g[3], g[4]) if i is not None})
        rows = (await conn.execute(select(attempts_table).where(a.id.in_(wanted)))
                ).mappings().all() if wanted else []
    by_id = {int(r["id"]): DeliveryAttempt.model_validate(dict(r)) for r in rows}
    return [ChannelDeliveries(recipient=str(recipient), channel_index=int(index),
                              attempts=int(count),
                              last_ok=by_id.get(int(good)) if good is not None else None,
                              last_failure=by_id.get(int(bad)) if bad is not None else None)
            for recipient, index, count, good, bad in groups]


async def was_notified(*, engine: AsyncEngine, recipient: str, message_id: int) -> bool:
    """Whether `recipient` has a notification about the message (sent, waiting for their
    digest, or in one): what lets staff open the link their notification carries."""
    c = notifications_table.c
    async with engine.connect() as conn:
        found = (await conn.execute(
            select(c.id).where(c.recipient == recipient, c.message_id == message_id)
            .limit(1))).first()
    return found is not None
