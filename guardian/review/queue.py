"""The moderators' review queue (the table `review_items`): holding messages, staff's
flags, listing them masked, claims, revealing the raw text to the claim holder, and the
dismissed items the engine delivers to staff. Keyword-only functions; every moderator
action (and every flag) is audited in the same transaction (`guardian.storage.audit`);
the rules they follow are `guardian.review.rules`."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Insert, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.review import rules
from guardian.review.exposure import ExposureLimitReached, count_exposure, exposure_on
from guardian.storage.audit import audit, audit_many, audit_table
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table
from guardian.storage.models import ReviewItem
from guardian.types import ReviewStatus

review_table = ReviewItem.__table__  # type: ignore[attr-defined]

PIPELINE_ACTOR = "system:pipeline"
# The reason of the item a staff member's flag ("this was abusive") puts a message in.
FLAG_REASON = "flagged"
FLAG_ACTION = "message.flag"


class ReviewConflict(Exception):
    """The item is not in a state that allows this (decided, or claimed by someone else)."""

@dataclass(frozen=True)
class QueuedItem:
    """A review item with what moderators see of its message (`text` only when revealed)."""

    item: ReviewItem
    source: str
    author_handle: str
    masked_text: str | None
    text: str | None = None

    def status_at(self, now: dt.datetime) -> ReviewStatus:
        return rules.status_at(self.item, now)

    def holder_at(self, now: dt.datetime) -> str | None:
        return rules.holder_at(self.item, now)

@dataclass(frozen=True)
class Reveal:
    """The raw text for the claim holder, or why it is withheld (`not_claimed`, `limit`)."""

    queued: QueuedItem
    withheld: str | None
    exposure: int

def _status_is(status: ReviewStatus, now: dt.datetime) -> ColumnElement[bool]:
    c = review_table.c
    live = and_(c.status == ReviewStatus.claimed.value, c.claim_expires_at > now)
    if status == ReviewStatus.claimed:
        return live
    if status == ReviewStatus.open:
        return or_(c.status == ReviewStatus.open.value,
                   and_(c.status == ReviewStatus.claimed.value, c.claim_expires_at <= now))
    decided: ColumnElement[bool] = c.status == ReviewStatus.decided.value
    return decided

@functools.cache
def _enqueue_statement(dialect: str) -> Insert:
    # Built once per dialect and executed with parameters, so SQLAlchemy compiles it once.
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert(review_table).on_conflict_do_nothing(index_elements=["message_id", "reason"])
            .returning(*review_table.c))


async def enqueue_review(*, conn: AsyncConnection, message_id: int, reason: str, level: str,
                         category: str | None = None, target: str | None = None,
                         actor: str = PIPELINE_ACTOR) -> ReviewItem:
    """Hold `message_id` for review; idempotent per (message_id, reason): a repeat answers
    the item already queued and changes nothing."""
    row = (await conn.execute(_enqueue_statement(conn.dialect.name), {
        "message_id": message_id, "reason": reason, "level": level, "category": category,
        "target": target, "status": ReviewStatus.open.value, "released": False,
        "created_at": utcnow()})).mappings().first()
    if row is None:
        existing = (await conn.execute(select(review_table).where(
            review_table.c.message_id == message_id, review_table.c.reason == reason)
        )).mappings().one()
        return ReviewItem.model_validate(dict(existing))
    item = ReviewItem.model_validate(dict(row))
    await audit(conn=conn, actor=actor, action="review.enqueue", subject=f"review:{item.id}",
                details={"message_id": message_id, "reason": reason, "level": level,
                         "category": category, "target": target})
    return item


@dataclass(frozen=True)
class NewReview:
    """A message to hold for review, as the decision stage queues it."""

    message_id: int
    reason: str
    level: str
    category: str | None = None
    target: str | None = None


async def enqueue_reviews(conn: AsyncConnection, items: list[NewReview]) -> None:
    """Hold a batch of messages for review in two statements (the items, then the audit
    rows of those inserted); idempotent per (message_id, reason) like `enqueue_review`."""
    if not items:
        return
    now = utcnow()
    inserted = (await conn.execute(_enqueue_statement(conn.dialect.name), [
        {"message_id": i.message_id, "reason": i.reason, "level": i.level,
         "category": i.category, "target": i.target, "status": ReviewStatus.open.value,
         "released": False, "created_at": now} for i in items])).mappings().all()
    await audit_many(conn=conn, actor=PIPELINE_ACTOR, action="review.enqueue", entries=[
        (f"review:{row['id']}", {"message_id": row["message_id"], "reason": row["reason"],
                                 "level": row["level"], "category": row["category"],
                                 "target": row["target"]})
        for row in sorted(inserted, key=lambda r: r["id"])])


def staff_flagger(staff_id: str) -> str:
    """How the audit log names a staff member who flags, by link or by their token alike
    (so a second flag by the same person, either way, is a repeat)."""
    return f"person:{staff_id}"


@dataclass(frozen=True)
class Flagged:
    """The review item a flag put its message in; `new`: this person had not flagged the
    message before (a repeat changes nothing)."""

    item: ReviewItem
    new: bool


def _flag_fields(decision: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The category and target (a staff or team id) of a stored decision, if any."""
    decision = decision or {}
    category = decision.get("category")
    target = decision.get("target")
    return (category if isinstance(category, str) else None,
            (target.partition(":")[2] or None) if isinstance(target, str) else None)


async def flag_message(*, conn: AsyncConnection, message_id: int, flagger: str, via: str,
                       note: str | None = None, details: dict[str, Any] | None = None
                       ) -> Flagged | None:
    """Someone who was told about the message says it was abusive: hold it for review
    with reason `flagged` (one item per message, however many people flag it), and audit
    the flag (`message.flag`, `flagger` as actor: who flagged lives in the audit log).
    The item's level is the message's stored harassment level (or `none`); its category
    and target those of the stored decision. A second flag by the same `flagger` changes
    nothing (`new` false). Nothing here strikes, mutes or drops: a moderator's `confirm`
    does. None: no such message."""
    m = messages_table.c
    row = (await conn.execute(select(m.id, m.harassment_level, m.decision)
                              .where(m.id == message_id))).first()
    if row is None:
        return None
    category, target = _flag_fields(row.decision)
    item = await enqueue_review(conn=conn, message_id=message_id, reason=FLAG_REASON,
                                level=row.harassment_level or "none", category=category,
                                target=target, actor=flagger)
    # One flag of an item at a time (PostgreSQL; SQLite has one writer): the look below
    # sees every flag committed before this one.
    await conn.execute(select(review_table.c.id).where(review_table.c.id == item.id)
                       .with_for_update())
    a = audit_table.c
    subject = f"message:{message_id}"
    again = (await conn.execute(select(a.id).where(
        a.subject == subject, a.action == FLAG_ACTION, a.actor == flagger).limit(1))).first()
    if again is not None:
        return Flagged(item=item, new=False)
    await audit(conn=conn, actor=flagger, action=FLAG_ACTION, subject=subject,
                details={"review_id": item.id, "via": via, "note": note, **(details or {})})
    return Flagged(item=item, new=True)


def queued_query(*, raw: bool = False) -> Any:
    m = messages_table.c
    columns = [review_table, m.source, m.author_handle, m.masked_text]
    if raw:
        columns.append(m.text)
    return select(*columns).select_from(
        review_table.join(messages_table, messages_table.c.id == review_table.c.message_id))


def queued(row: Any) -> QueuedItem:
    fields = dict(row)
    return QueuedItem(
        item=ReviewItem.model_validate({c.key: fields[c.key] for c in review_table.c}),
        source=fields["source"], author_handle=fields["author_handle"],
        masked_text=fields["masked_text"], text=fields.get("text"))


async def list_review(*, engine: AsyncEngine, statuses: Sequence[ReviewStatus] = (
                          ReviewStatus.open, ReviewStatus.claimed),
                      levels: Sequence[str] = (), category: str | None = None,
                      target: str | None = None, created_before: dt.datetime | None = None,
                      created_after: dt.datetime | None = None, newest_first: bool = False,
                      after_id: int | None = None, limit: int = 50,
                      now: dt.datetime | None = None) -> list[QueuedItem]:
    """Items in queue order (oldest first, or newest first); `after_id` pages on from the
    last item of the previous page. The raw text is not even read."""
    now = now or utcnow()
    c = review_table.c
    query = queued_query().where(or_(*[_status_is(s, now) for s in statuses]))
    if levels:
        query = query.where(c.level.in_(list(levels)))
    if category is not None:
        query = query.where(c.category == category)
    if target is not None:
        query = query.where(c.target == target)
    if created_before is not None:
        query = query.where(c.created_at <= created_before)
    if created_after is not None:
        query = query.where(c.created_at >= created_after)
    if after_id is not None:
        query = query.where(c.id < after_id if newest_first else c.id > after_id)
    query = query.order_by(c.id.desc() if newest_first else c.id).limit(limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [queued(r) for r in rows]


async def author_history(*, conn: AsyncConnection, source: str, handle: str,
                         limit: int = 10) -> list[QueuedItem]:
    """The author's items, newest first (masked text only): what moderators see beside an
    item, with the author's strikes."""
    m = messages_table.c
    rows = (await conn.execute(queued_query().where(m.source == source,
                                                    m.author_handle == handle)
                               .order_by(review_table.c.id.desc()).limit(limit))
            ).mappings().all()
    return [queued(r) for r in rows]


async def get_review(*, conn: AsyncConnection, item_id: int) -> QueuedItem | None:
    """One item with its masked text (never the raw text)."""
    row = (await conn.execute(queued_query().where(review_table.c.id == item_id))
           ).mappings().first()
    return queued(row) if row else None


async def claim_review(*, conn: AsyncConnection, item_id: int, moderator: str,
                       exposure_limit: int, minutes: int = rules.CLAIM_MINUTES,
                       now: dt.datetime | None = None) -> ReviewItem:
    """Give the item to `moderator` for `minutes` (again, for its holder: the claim is
    extended). Nobody else may claim it until the claim expires.

    Raises `LookupError` (no such item), `ReviewConflict` (decided, or someone else holds
    it) or `ExposureLimitReached` (an abusive or threatening item, and `moderator` has
    read `exposure_limit` such items today).
    """
    now = now or utcnow()
    current = await get_review(conn=conn, item_id=item_id)
    if current is None:
        raise LookupError(f"review item {item_id}")
    mine = current.holder_at(now) == moderator
    if rules.exposing(current.item.level) and not mine and await exposure_on(
            conn=conn, moderator=moderator, day=now.date()) >= exposure_limit:
        raise ExposureLimitReached(exposure_limit)
    c = review_table.c
    expires = rules.claim_until(now, minutes)
    row = (await conn.execute(
        update(review_table)
        .where(c.id == item_id, c.status != ReviewStatus.decided.value,
               or_(c.status == ReviewStatus.open.value, c.claim_expires_at <= now,
                   c.claimed_by == moderator))
        .values(status=ReviewStatus.claimed.value, claimed_by=moderator,
                claim_expires_at=expires)
        .returning(*review_table.c)
    )).mappings().first()
    if row is None:
        raise ReviewConflict((await why_not(conn, [item_id], moderator, now))[item_id])
    await audit(conn=conn, actor=moderator, action="review.claim", subject=f"review:{item_id}",
                details={"expires_at": expires.isoformat(), "level": current.item.level,
                         "previous": current.item.claimed_by if not mine else None})
    return ReviewItem.model_validate(dict(row))


async def unclaim_review(*, conn: AsyncConnection, item_id: int, moderator: str,
                         now: dt.datetime | None = None) -> ReviewItem:
    """Give a claimed item back to the queue before its claim expires (its holder only;
    `POST /api/v1/review/{id}/release`)."""
    now = now or utcnow()
    c = review_table.c
    row = (await conn.execute(
        update(review_table)
        .where(c.id == item_id, c.status == ReviewStatus.claimed.value,
               c.claimed_by == moderator, c.claim_expires_at > now)
        .values(status=ReviewStatus.open.value, claimed_by=None, claim_expires_at=None)
        .returning(*review_table.c)
    )).mappings().first()
    if row is None:
        raise ReviewConflict("it is not claimed by you")
    await audit(conn=conn, actor=moderator, action="review.release",
                subject=f"review:{item_id}", details={})
    return ReviewItem.model_validate(dict(row))

async def why_not(conn: AsyncConnection, item_ids: Sequence[int], moderator: str,
                  now: dt.datetime) -> dict[int, str]:
    """Why each of `item_ids` could not be claimed or decided by `moderator`."""
    if not item_ids:
        return {}
    rows = (await conn.execute(select(review_table).where(review_table.c.id.in_(
        list(item_ids))))).mappings().all()
    found = {r["id"]: ReviewItem.model_validate(dict(r)) for r in rows}
    reasons = {}
    for item_id in item_ids:
        item = found.get(item_id)
        reasons[item_id] = rules.refusal(item, moderator, now) or (
            # Free again by now: it was not when the change was tried.
            f"{item.claimed_by if item else '?'} held its claim")
    return reasons


async def reveal_review(*, conn: AsyncConnection, item_id: int, moderator: str,
                        exposure_limit: int, now: dt.datetime | None = None) -> Reveal | None:
    """The item with its raw text, for the moderator holding the claim (None: no item).

    Reading an abusive or threatening item counts once per moderator, item and UTC day
    toward the moderator's exposure; at `exposure_limit` the text is withheld (`limit`).
    Others get the masked text only (`not_claimed`). Each reading is audited.
    """
    now = now or utcnow()
    row = (await conn.execute(queued_query(raw=True).where(review_table.c.id == item_id))
           ).mappings().first()
    if row is None:
        return None
    full = queued(row)
    hidden = QueuedItem(item=full.item, source=full.source, author_handle=full.author_handle,
                        masked_text=full.masked_text)
    day = now.date()
    if full.holder_at(now) != moderator:
        return Reveal(hidden, "not_claimed", await exposure_on(conn=conn, moderator=moderator,
                                                                day=day))
    item = full.item
    counted = rules.counts_toward_exposure(item.level, moderator, item.revealed_by,
                                           item.revealed_at, now)
    if counted:
        exposure = await count_exposure(conn=conn, moderator=moderator, day=day,
                                        limit=exposure_limit)
        if exposure is None:
            return Reveal(hidden, "limit", exposure_limit)
    else:
        exposure = await exposure_on(conn=conn, moderator=moderator, day=day)
    await conn.execute(update(review_table).where(review_table.c.id == item_id)
                       .values(revealed_by=moderator, revealed_at=now))
    await audit(conn=conn, actor=moderator, action="review.reveal",
                subject=f"review:{item_id}",
                details={"level": item.level, "counted": counted, "exposure": exposure})
    shown = item.model_copy(update={"revealed_by": moderator, "revealed_at": now})
    return Reveal(QueuedItem(item=shown, source=full.source, author_handle=full.author_handle,
                             masked_text=full.masked_text, text=full.text), None, exposure)

# --- dismissed items, delivered to staff (`guardian.engine.dismissed`) ------------------

async def dismissed_undelivered(*, conn: AsyncConnection, limit: int) -> list[int]:
    """Messages whose every review item was dismissed (`released` to staff) and that have
    not been delivered to staff yet (`released_at` unset), oldest first. Flag items do not
    count: staff had the message already, and a dismissed flag releases nothing."""
    c = review_table.c
    # Written as the partial index `ix_review_items_to_release` is, so both databases use it.
    pending = select(c.message_id).where(c.released, c.released_at.is_(None))
    held = func.sum(case((c.reason != FLAG_REASON, 1), else_=0))
    rows = await conn.execute(
        select(c.message_id).where(c.message_id.in_(pending)).group_by(c.message_id)
        .having(held == func.sum(case((c.released, 1), else_=0)))
        .order_by(c.message_id).limit(limit))
    return [int(r) for r in rows.scalars()]


async def claim_dismissed(*, conn: AsyncConnection, message_id: int, now: dt.datetime
                          ) -> bool:
    """Stamp the message's dismissed items `released_at`; False when another worker did."""
    c = review_table.c
    claimed = await conn.execute(
        update(review_table)
        .where(c.message_id == message_id, c.released.is_(True), c.released_at.is_(None))
        .values(released_at=now))
    return bool(claimed.rowcount)


@dataclass(frozen=True)
class Escalated:
    """A review item a moderator escalated, with what those it names may read of it."""

    item: ReviewItem
    masked_text: str
    received_at: dt.datetime


async def escalated_items(*, engine: AsyncEngine, to: Sequence[str] | None = None,
                          limit: int = 100) -> list[Escalated]:
    """Items escalated (to HR, or to a team), newest first; `to` keeps those escalated
    to these (`hr` or team ids)."""
    c, m = review_table.c, messages_table.c
    query = (select(review_table, m.masked_text, m.text, m.received_at.label("received"))
             .select_from(review_table.join(messages_table, m.id == c.message_id))
             .where(c.decision == "escalate", c.escalated_to.is_not(None))
             .order_by(c.decided_at.desc(), c.id.desc()).limit(limit))
    if to is not None:
        query = query.where(c.escalated_to.in_(sorted(set(to))))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    found = []
    for row in rows:
        data = {col.key: row[col.key] for col in review_table.c}
        masked = row["masked_text"] if row["masked_text"] is not None else row["text"]
        found.append(Escalated(ReviewItem.model_validate(data), masked, row["received"]))
    return found
