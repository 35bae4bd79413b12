"""The notification outbox: rows in the database, each delivered exactly once.

`enqueue` writes a notification in the caller's transaction (so the decision that asks for
it and the notification commit together); its idempotency key makes a repeat return the
row already there. A sender *claims* due notifications like the pipeline's workers claim
messages (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a lease in `lease_owner` and
`available_at`), sends outside any transaction, and *records* the result in one
transaction that checks the lease is still its own and the row still pending. A sender
killed mid-send leaves only a lease, which expires; once recorded `sent`, a notification
is never claimed again.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.storage.db import utcnow
from guardian.storage.models import DeliveryAttempt, Message, Notification
from guardian.types import (
    CAPPED_KINDS,
    DEFAULT_PRIORITY,
    PRIORITY,
    URGENT_KINDS,
    NotificationKind,
    NotificationStatus,
)

notifications_table = Notification.__table__  # type: ignore[attr-defined]
attempts_table = DeliveryAttempt.__table__  # type: ignore[attr-defined]
messages_table = Message.__table__  # type: ignore[attr-defined]


async def enqueue(*, conn: AsyncConnection, recipient: str, kind: NotificationKind | str,
                  body: str, due_at: dt.datetime, idempotency_key: str,
                  message_id: int | None = None, page_id: int | None = None,
                  payload: dict[str, Any] | None = None, lang: str = "es",
                  category: str | None = None,
                  status: NotificationStatus = NotificationStatus.pending) -> Notification:
    """Queue one notification for `recipient` (a staff id), to send from `due_at` (or, when
    `status` is `waiting`, to go into their digest at `due_at`).

    Idempotent on `idempotency_key`: a repeat returns the existing row, unchanged.
    """
    kind = NotificationKind(kind)
    if status not in (NotificationStatus.pending, NotificationStatus.waiting):
        raise ValueError(f"a new notification is pending or waiting, not {status}")
    payload = payload or {}
    capped = (kind.value in CAPPED_KINDS and payload.get("urgency") != "emergency"
              and not payload.get("held"))
    values = {"message_id": message_id, "page_id": page_id, "recipient": recipient,
              "kind": kind.value, "body": body, "payload": payload, "lang": lang,
              "category": category, "capped": capped, "priority": priority_of(kind, payload),
              "channel_index": 0, "due_at": due_at,
              "idempotency_key": idempotency_key, "status": status.value,
              "attempts": 0, "created_at": utcnow(), "available_at": due_at}
    # One statement: a row already there (a retried stage, a concurrent enqueue) inserts
    # nothing and is read back, without a savepoint.
    row = (await conn.execute(_enqueue_statement(conn.dialect.name), values)).mappings().first()
    if row is None:
        existing = await get_by_key(conn=conn, idempotency_key=idempotency_key)
        if existing is None:
            raise RuntimeError(f"notification {idempotency_key!r} neither inserted nor found")
        return existing
    return Notification.model_validate(dict(row))


def priority_of(kind: NotificationKind, payload: dict[str, Any]) -> int:
    """Sent in this order when several are due: pages first (someone must act now), then
    by the urgency of the message it is about (`normal` when about none)."""
    if kind.value in URGENT_KINDS:
        return PRIORITY["emergency"]
    urgency = payload.get("urgency")
    return PRIORITY.get(urgency, DEFAULT_PRIORITY) if isinstance(urgency, str) else (
        DEFAULT_PRIORITY)


@functools.cache
def _enqueue_statement(dialect: str) -> Any:
    # Built once per dialect and executed with parameters, so SQLAlchemy compiles it once.
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert(notifications_table)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(*notifications_table.c))


async def get_by_key(*, conn: AsyncConnection, idempotency_key: str) -> Notification | None:
    c = notifications_table.c
    row = (await conn.execute(select(notifications_table)
                              .where(c.idempotency_key == idempotency_key))).mappings().first()
    return Notification.model_validate(dict(row)) if row else None


async def get_notification(*, conn: AsyncConnection, notification_id: int
                           ) -> Notification | None:
    c = notifications_table.c
    row = (await conn.execute(select(notifications_table).where(c.id == notification_id))
           ).mappings().first()
    return Notification.model_validate(dict(row)) if row else None


async def list_attempts(*, conn: AsyncConnection, notification_id: int
                        ) -> list[DeliveryAttempt]:
    c = attempts_table.c
    rows = (await conn.execute(select(attempts_table).where(c.notification_id == notification_id)
                               .order_by(c.id))).mappings().all()
    return [DeliveryAttempt.model_validate(dict(r)) for r in rows]


def new_lease(owner: str) -> str:
    return f"{owner[:40]}/{secrets.token_hex(6)}"


async def claim_due(engine: AsyncEngine, now: dt.datetime, limit: int, lease_seconds: float,
                    *, owner: str = "sender") -> tuple[list[Notification], str]:
    """Lease up to `limit` pending notifications whose time has come, highest priority
    first (a page before a storm's notices), then oldest; return them and the lease (pass
    it to `record_result`)."""
    lease = new_lease(owner)
    c = notifications_table.c
    due = (
        select(c.id)
        .where(c.status == NotificationStatus.pending.value, c.available_at <= now)
        .order_by(c.priority.desc(), c.available_at, c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        # A CTE, which PostgreSQL runs once (a locking one is never inlined): as a plain
        # `IN (subquery)` the planner may run it again per row, and each run, seeing the
        # rows just leased as no longer due, adds more: past the limit, out of order.
        .cte("due")
    )
    statement = (
        update(notifications_table)
        .where(c.id.in_(select(due.c.id)), c.status == NotificationStatus.pending.value)
        .values(lease_owner=lease, available_at=now + dt.timedelta(seconds=lease_seconds))
        .returning(*notifications_table.c)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(statement)).mappings().all()
    claimed = sorted((Notification.model_validate(dict(r)) for r in rows),
                     key=lambda n: (-n.priority, n.id or 0))
    return claimed, lease


async def extend_lease(*, engine: AsyncEngine, lease: str, until: dt.datetime) -> int:
    """Push the lease's end to `until` for the notifications still held by it."""
    c = notifications_table.c
    async with engine.begin() as conn:
        moved = await conn.execute(
            update(notifications_table)
            .where(c.lease_owner == lease, c.status == NotificationStatus.pending.value)
            .values(available_at=until))
    return int(moved.rowcount or 0)


async def holds_lease(*, engine: AsyncEngine, notification_id: int, lease: str) -> bool:
    """Whether the lease is still ours (checked just before sending: a sender that was
    paused past its lease must not send what another sender has taken)."""
    c = notifications_table.c
    async with engine.connect() as conn:
        found = (await conn.execute(
            select(c.id).where(and_(c.id == notification_id, c.lease_owner == lease,
                                    c.status == NotificationStatus.pending.value))
        )).first()
    return found is not None


@dataclass(frozen=True)
class Attempt:
    """One send on one channel, as recorded (the URL masked)."""

    channel_index: int
    channel_url_masked: str
    ok: bool
    error: str | None
    duration_ms: float


@dataclass(frozen=True)
class Next:
    """The state a notification moves to after an attempt."""

    status: NotificationStatus
    channel_index: int
    attempts: int
    available_at: dt.datetime
    last_error: str | None = None
    due_at: dt.datetime | None = None  # moved (into a digest, or past quiet hours)


@dataclass(frozen=True)
class Alert:
    """An admin alert to queue in the same transaction (when a notification fails)."""

    recipient: str
    body: str
    idempotency_key: str
    payload: dict[str, Any] | None = None
    lang: str = "es"


async def record_result(*, engine: AsyncEngine, notification: Notification, lease: str,
                        now: dt.datetime, attempts: Sequence[Attempt], next: Next,
                        alerts: Sequence[Alert] = ()) -> bool:
    """Log the attempts and move the notification on, if our lease still holds it.

    Returns False (and changes nothing but the log) when the lease was lost: another
    sender took the notification, and its result wins.
    """
    c = notifications_table.c
    async with engine.begin() as conn:
        if attempts:
            await conn.execute(insert(attempts_table), [
                {"notification_id": notification.id, "at": now, "channel_index": a.channel_index,
                 "channel_url_masked": a.channel_url_masked[:2048], "ok": a.ok,
                 "error": a.error[:2000] if a.error else None, "duration_ms": a.duration_ms}
                for a in attempts])
        moved = await conn.execute(
            update(notifications_table)
            .where(and_(c.id == notification.id, c.lease_owner == lease,
                        c.status == NotificationStatus.pending.value))
            .values(status=next.status.value, channel_index=next.channel_index,
                    attempts=next.attempts, available_at=next.available_at,
                    due_at=next.due_at if next.due_at is not None else c.due_at,
                    last_error=next.last_error[:2000] if next.last_error else None,
                    lease_owner=None,
                    sent_at=now if next.status == NotificationStatus.sent else None))
        if moved.rowcount != 1:
            return False
        for alert in alerts:
            await enqueue(conn=conn, recipient=alert.recipient, kind=NotificationKind.admin_alert,
                          body=alert.body, due_at=now, idempotency_key=alert.idempotency_key,
                          message_id=notification.message_id, page_id=notification.page_id,
                          payload=alert.payload, lang=alert.lang)
    return True


async def hand_back(*, engine: AsyncEngine, lease: str, now: dt.datetime) -> None:
    """Hand back what a lease still holds (a sender stopping in the middle)."""
    c = notifications_table.c
    async with engine.begin() as conn:
        await conn.execute(update(notifications_table)
                           .where(and_(c.lease_owner == lease,
                                       c.status == NotificationStatus.pending.value))
                           .values(lease_owner=None, available_at=now))


async def sent_counts(*, conn: AsyncConnection, since: dt.datetime,
                      recipients: Sequence[str] | None = None) -> dict[str, int]:
    """Per recipient, the notifications the hourly cap counts (`capped`: no emergency, no
    page) sent since `since`, or queued to go out since then (a burst queued in one second
    counts at once)."""
    c = notifications_table.c
    query = (select(c.recipient, func.count())
             .where(c.capped.is_(True),
                    or_(and_(c.status == NotificationStatus.sent.value, c.sent_at >= since),
                        and_(c.status == NotificationStatus.pending.value,
                             c.due_at >= since)))
             .group_by(c.recipient))
    if recipients is not None:
        query = query.where(c.recipient.in_(sorted(set(recipients))))
    return {r: int(n) for r, n in (await conn.execute(query)).all()}


async def due_digest_recipients(*, engine: AsyncEngine, now: dt.datetime, limit: int = 100
                                ) -> list[str]:
    """People with items waiting for a digest whose time has come."""
    c = notifications_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(c.recipient).where(c.status == NotificationStatus.waiting.value,
                                      c.due_at <= now)
            .group_by(c.recipient).order_by(func.min(c.due_at)).limit(limit))).scalars()
        return list(rows)


async def take_waiting(*, conn: AsyncConnection, recipient: str, now: dt.datetime
                       ) -> list[Notification]:
    """Lock the recipient's waiting items that are due (another composer skips them)."""
    c = notifications_table.c
    rows = (await conn.execute(
        select(notifications_table)
        .where(c.recipient == recipient, c.status == NotificationStatus.waiting.value,
               c.due_at <= now)
        .order_by(c.id).with_for_update(skip_locked=True))).mappings().all()
    return [Notification.model_validate(dict(r)) for r in rows]


async def mark_digested(*, conn: AsyncConnection, ids: Sequence[int], digest_id: int) -> None:
    c = notifications_table.c
    await conn.execute(update(notifications_table)
                       .where(c.id.in_(list(ids)), c.status == NotificationStatus.waiting.value)
                       .values(status=NotificationStatus.digested.value, digest_id=digest_id))


async def postpone_waiting(*, conn: AsyncConnection, ids: Sequence[int], at: dt.datetime
                           ) -> None:
    """Move waiting items to a later digest (their recipient is off duty now)."""
    c = notifications_table.c
    await conn.execute(update(notifications_table)
                       .where(c.id.in_(list(ids)), c.status == NotificationStatus.waiting.value)
                       .values(due_at=at, available_at=at))


async def hold_for_storm(*, conn: AsyncConnection, message_ids: Sequence[int], reason: str
                         ) -> list[tuple[int, str]]:
    """A storm has started: the notifications about its earlier messages (`message_ids`)
    that have not gone out (pending, or waiting for a digest) are held back (cancelled,
    with `reason`). Returns each held message's id and level once, for the moderators'
    queue."""
    if not message_ids:
        return []
    c = notifications_table.c
    m = messages_table.c
    held = (await conn.execute(
        update(notifications_table)
        .where(c.message_id.in_(sorted(set(message_ids))),
               c.kind == NotificationKind.deliver.value,
               c.status.in_([NotificationStatus.pending.value,
                             NotificationStatus.waiting.value]))
        .values(status=NotificationStatus.cancelled.value, last_error=reason,
                lease_owner=None)
        .returning(c.message_id))).scalars().all()
    ids = sorted({int(i) for i in held if i is not None})
    if not ids:
        return []
    rows = (await conn.execute(select(m.id, m.harassment_level).where(m.id.in_(ids)))).all()
    return [(int(r.id), str(r.harassment_level)) for r in rows]


async def cancel_for_page(*, conn: AsyncConnection, page_id: int) -> int:
    """Page notifications not yet sent are cancelled once the page is acknowledged."""
    c = notifications_table.c
    result = await conn.execute(
        update(notifications_table)
        .where(c.page_id == page_id, c.kind == NotificationKind.page.value,
               c.status == NotificationStatus.pending.value)
        .values(status=NotificationStatus.cancelled.value, lease_owner=None))
    return int(result.rowcount or 0)
