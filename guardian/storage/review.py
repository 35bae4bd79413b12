"""Data access for the moderators' review queue, author sanctions and moderator exposure.

Keyword-only functions. Every moderator action is written to the audit log in the same
transaction as the change it records (`guardian.storage.overrides.audit`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    and_,
    case,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table
from guardian.storage.models import (
    AuthorSanction,
    ModeratorExposure,
    ReviewDecision,
    ReviewItem,
    ReviewStatus,
)
from guardian.storage.overrides import audit, audit_many

review_table = ReviewItem.__table__  # type: ignore[attr-defined]
sanctions_table = AuthorSanction.__table__  # type: ignore[attr-defined]
exposure_table = ModeratorExposure.__table__  # type: ignore[attr-defined]

CLAIM_MINUTES = 15
# Reading the raw text of these counts toward a moderator's daily exposure.
EXPOSING_LEVELS = ("abusive", "threat")
# TODO: read these from the policy (`exposure_limits`, or a sanctions section) once its
# model has fields for them; until then they are fixed here.
# Defaults of the policy's `moderation.strikes_to_mute` and `mute_days`.
STRIKES_TO_MUTE = 3
AUTO_MUTE_DAYS = 30
PIPELINE_ACTOR = "system:pipeline"


class ReviewConflict(Exception):
    """The item is not in a state that allows this (decided, or claimed by someone else)."""


class ExposureLimitReached(Exception):
    """The moderator has read as many abusive items today as the policy allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"daily exposure limit of {limit} reached")
        self.limit = limit


@dataclass(frozen=True)
class AuthorStatus:
    """What the decision engine needs about an author: strikes, mute and block."""

    source: str
    handle: str
    strikes: int = 0
    muted_until: dt.datetime | None = None
    blocked: bool = False

    def muted(self, at: dt.datetime) -> bool:
        return self.muted_until is not None and self.muted_until > at

    def silenced(self, at: dt.datetime) -> bool:
        """Blocked, or muted at `at`: the author's messages are dropped."""
        return self.blocked or self.muted(at)


@dataclass(frozen=True)
class QueuedItem:
    """A review item with what moderators see of its message (`text` only when revealed)."""

    item: ReviewItem
    source: str
    author_handle: str
    masked_text: str | None
    text: str | None = None

    def status_at(self, now: dt.datetime) -> ReviewStatus:
        """`claimed` only while the claim lasts; an expired claim is open again."""
        if self.item.status == ReviewStatus.claimed.value and not _live(self.item, now):
            return ReviewStatus.open
        return ReviewStatus(self.item.status)

    def holder_at(self, now: dt.datetime) -> str | None:
        return self.item.claimed_by if self.status_at(now) == ReviewStatus.claimed else None


@dataclass(frozen=True)
class Reveal:
    """The raw text for the claim holder, or why it is withheld (`not_claimed`, `limit`)."""

    queued: QueuedItem
    withheld: str | None
    exposure: int


@dataclass(frozen=True)
class Decided:
    items: list[ReviewItem]
    skipped: dict[int, str]          # item id -> why it was not decided
    authors: list[AuthorStatus]      # the sanctions of the authors concerned, after


def _live(item: ReviewItem, now: dt.datetime) -> bool:
    return item.claim_expires_at is not None and item.claim_expires_at > now


def _insert(conn: AsyncConnection, table: Any) -> Any:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert(table)


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


# --- the queue ----------------------------------------------------------------------------

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


def _queued_query(*, raw: bool = False) -> Any:
    m = messages_table.c
    columns = [review_table, m.source, m.author_handle, m.masked_text]
    if raw:
        columns.append(m.text)
    return select(*columns).select_from(
        review_table.join(messages_table, messages_table.c.id == review_table.c.message_id))


def _queued(row: Any) -> QueuedItem:
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
    query = _queued_query().where(or_(*[_status_is(s, now) for s in statuses]))
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
    return [_queued(r) for r in rows]


async def get_review(*, conn: AsyncConnection, item_id: int) -> QueuedItem | None:
    """One item with its masked text (never the raw text)."""
    row = (await conn.execute(_queued_query().where(review_table.c.id == item_id))
           ).mappings().first()
    return _queued(row) if row else None


async def claim_review(*, conn: AsyncConnection, item_id: int, moderator: str,
                       exposure_limit: int, minutes: int = CLAIM_MINUTES,
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
    if current.item.level in EXPOSING_LEVELS and not mine and await exposure_on(
            conn=conn, moderator=moderator, day=now.date()) >= exposure_limit:
        raise ExposureLimitReached(exposure_limit)
    c = review_table.c
    expires = now + dt.timedelta(minutes=minutes)
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
        raise ReviewConflict((await _why_not(conn, [item_id]))[item_id])
    await audit(conn=conn, actor=moderator, action="review.claim", subject=f"review:{item_id}",
                details={"expires_at": expires.isoformat(), "level": current.item.level,
                         "previous": current.item.claimed_by if not mine else None})
    return ReviewItem.model_validate(dict(row))


async def release_review(*, conn: AsyncConnection, item_id: int, moderator: str,
                         now: dt.datetime | None = None) -> ReviewItem:
    """Give a claimed item back to the queue before its claim expires (its holder only)."""
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


async def _why_not(conn: AsyncConnection, item_ids: Sequence[int]) -> dict[int, str]:
    """Why each of `item_ids` cannot be claimed or decided by the caller."""
    if not item_ids:
        return {}
    rows = (await conn.execute(select(review_table).where(review_table.c.id.in_(
        list(item_ids))))).mappings().all()
    found = {r["id"]: ReviewItem.model_validate(dict(r)) for r in rows}
    reasons = {}
    for item_id in item_ids:
        item = found.get(item_id)
        if item is None:
            reasons[item_id] = "it does not exist"
        elif item.status == ReviewStatus.decided.value:
            reasons[item_id] = f"it is already decided ({item.decision} by {item.decided_by})"
        else:
            until = item.claim_expires_at.isoformat() if item.claim_expires_at else "?"
            reasons[item_id] = f"{item.claimed_by} holds its claim until {until}"
    return reasons


async def reveal_review(*, conn: AsyncConnection, item_id: int, moderator: str,
                        exposure_limit: int, now: dt.datetime | None = None) -> Reveal | None:
    """The item with its raw text, for the moderator holding the claim (None: no item).

    Reading an abusive or threatening item counts once per moderator, item and UTC day
    toward the moderator's exposure; at `exposure_limit` the text is withheld (`limit`).
    Others get the masked text only (`not_claimed`). Each reading is audited.
    """
    now = now or utcnow()
    row = (await conn.execute(_queued_query(raw=True).where(review_table.c.id == item_id))
           ).mappings().first()
    if row is None:
        return None
    full = _queued(row)
    hidden = QueuedItem(item=full.item, source=full.source, author_handle=full.author_handle,
                        masked_text=full.masked_text)
    day = now.date()
    if full.holder_at(now) != moderator:
        return Reveal(hidden, "not_claimed", await exposure_on(conn=conn, moderator=moderator,
                                                                day=day))
    item = full.item
    seen_today = (item.revealed_by == moderator and item.revealed_at is not None
                  and item.revealed_at.date() == day)
    counted = item.level in EXPOSING_LEVELS and not seen_today
    if counted:
        exposure = await _count_exposure(conn, moderator, day, exposure_limit)
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


async def decide_review(*, conn: AsyncConnection, item_ids: Sequence[int],
                        decision: ReviewDecision, moderator: str, note: str | None = None,
                        mute_days: int | None = None, escalated_to: str | None = None,
                        now: dt.datetime | None = None, strikes_to_mute: int = STRIKES_TO_MUTE,
                        auto_mute_days: int = AUTO_MUTE_DAYS) -> Decided:
    """Decide each item that is undecided and not claimed by someone else; skip the rest
    (with why). Then sanction the authors: `confirm` adds a strike per item (reaching
    `strikes_to_mute` mutes for `auto_mute_days`), `mute` mutes for `mute_days` (default
    `auto_mute_days`), `block`
    blocks. `dismiss` sets `released`: the pipeline delivers the message to staff."""
    now = now or utcnow()
    wanted = list(dict.fromkeys(item_ids))
    c = review_table.c
    rows = (await conn.execute(
        update(review_table)
        .where(c.id.in_(wanted), c.status != ReviewStatus.decided.value,
               or_(c.status == ReviewStatus.open.value, c.claim_expires_at <= now,
                   c.claimed_by == moderator))
        .values(status=ReviewStatus.decided.value, decision=decision.value,
                decided_by=moderator, decided_at=now, note=note, escalated_to=escalated_to,
                released=decision == ReviewDecision.dismiss)
        .returning(*review_table.c)
    )).mappings().all()
    position = {item_id: n for n, item_id in enumerate(wanted)}
    items = sorted((ReviewItem.model_validate(dict(r)) for r in rows),
                   key=lambda i: position[i.id or 0])
    done = {i.id for i in items}
    skipped = await _why_not(conn, [i for i in wanted if i not in done])
    for item in items:
        details: dict[str, Any] = {"decision": decision.value, "message_id": item.message_id,
                                   "note": note, "bulk": len(wanted) > 1}
        if escalated_to is not None:
            details["escalated_to"] = escalated_to
        if mute_days is not None:
            details["mute_days"] = mute_days
        await audit(conn=conn, actor=moderator, action="review.decide",
                    subject=f"review:{item.id}", details=details)
    authors = await _sanction(conn, items, decision, moderator, mute_days, now,
                              strikes_to_mute, auto_mute_days)
    return Decided(items=items, skipped=skipped, authors=authors)


async def _sanction(conn: AsyncConnection, items: Sequence[ReviewItem],
                    decision: ReviewDecision, moderator: str, mute_days: int | None,
                    now: dt.datetime, strikes_to_mute: int, auto_mute_days: int
                    ) -> list[AuthorStatus]:
    if decision not in (ReviewDecision.confirm, ReviewDecision.mute, ReviewDecision.block):
        return []
    m = messages_table.c
    message_ids = list({i.message_id for i in items})
    authors = {r.id: (r.source, r.author_handle) for r in await conn.execute(
        select(m.id, m.source, m.author_handle).where(m.id.in_(message_ids)))}
    per_author = Counter(authors[i.message_id] for i in items if i.message_id in authors)
    result = []
    for (source, handle), count in per_author.items():
        if decision == ReviewDecision.confirm:
            status = await strike_author(conn=conn, source=source, handle=handle, by=moderator,
                                         count=count, now=now, strikes_to_mute=strikes_to_mute,
                                         auto_mute_days=auto_mute_days)
        elif decision == ReviewDecision.mute:
            days = mute_days or auto_mute_days
            status = await mute_author(conn=conn, source=source, handle=handle, by=moderator,
                                       until=now + dt.timedelta(days=days), now=now)
        else:
            status = await block_author(conn=conn, source=source, handle=handle,
                                        by=moderator, now=now)
        result.append(status)
    return result


# --- author sanctions -------------------------------------------------------------------

def _status(row: Any) -> AuthorStatus:
    return AuthorStatus(source=row["source"], handle=row["handle"], strikes=row["strikes"],
                        muted_until=row["muted_until"], blocked=row["blocked"])


async def _upsert(conn: AsyncConnection, source: str, handle: str, now: dt.datetime,
                  inserted: dict[str, Any], updated: Any) -> AuthorStatus:
    statement = _insert(conn, sanctions_table).values(
        source=source, handle=handle, updated_at=now,
        **{"strikes": 0, "muted_until": None, "blocked": False, **inserted})
    changes = {"updated_at": statement.excluded.updated_at, **updated(statement.excluded)}
    row = (await conn.execute(
        statement.on_conflict_do_update(index_elements=["source", "handle"], set_=changes)
        .returning(*sanctions_table.c))).mappings().one()
    return _status(row)


def _subject(source: str, handle: str) -> str:
    return f"author:{source}:{handle}"[:128]


async def strike_author(*, conn: AsyncConnection, source: str, handle: str, by: str,
                        count: int = 1, now: dt.datetime | None = None,
                        strikes_to_mute: int = STRIKES_TO_MUTE,
                        auto_mute_days: int = AUTO_MUTE_DAYS) -> AuthorStatus:
    """Add `count` strikes; at `strikes_to_mute` or more the author is muted for
    `auto_mute_days` (a further strike renews the mute)."""
    now = now or utcnow()
    s = sanctions_table.c
    status = await _upsert(conn, source, handle, now, {"strikes": count},
                           lambda new: {"strikes": s.strikes + new.strikes})
    await audit(conn=conn, actor=by, action="author.strike", subject=_subject(source, handle),
                details={"added": count, "strikes": status.strikes})
    if status.strikes >= strikes_to_mute:
        status = await mute_author(conn=conn, source=source, handle=handle, by=by,
                                   until=now + dt.timedelta(days=auto_mute_days), now=now,
                                   action="author.auto_mute")
    return status


async def mute_author(*, conn: AsyncConnection, source: str, handle: str, by: str,
                      until: dt.datetime, now: dt.datetime | None = None,
                      action: str = "author.mute") -> AuthorStatus:
    """Mute until `until`; a longer mute already in force is kept."""
    now = now or utcnow()
    s = sanctions_table.c
    status = await _upsert(conn, source, handle, now, {"muted_until": until}, lambda new: {
        "muted_until": case((s.muted_until > new.muted_until, s.muted_until),
                            else_=new.muted_until)})
    await audit(conn=conn, actor=by, action=action, subject=_subject(source, handle),
                details={"until": until.isoformat(), "strikes": status.strikes,
                         "muted_until": status.muted_until.isoformat()
                         if status.muted_until else None})
    return status


async def block_author(*, conn: AsyncConnection, source: str, handle: str, by: str,
                       now: dt.datetime | None = None) -> AuthorStatus:
    """Block: every further message of the author is dropped."""
    now = now or utcnow()
    status = await _upsert(conn, source, handle, now, {"blocked": True},
                           lambda new: {"blocked": new.blocked})
    await audit(conn=conn, actor=by, action="author.block", subject=_subject(source, handle),
                details={"strikes": status.strikes})
    return status


async def author_statuses(*, conn: AsyncConnection, authors: Iterable[tuple[str, str]]
                          ) -> dict[tuple[str, str], AuthorStatus]:
    """The sanctions of each (source, handle); authors without any get a clean status."""
    wanted = list(dict.fromkeys(authors))
    if not wanted:
        return {}
    s = sanctions_table.c
    rows = (await conn.execute(select(sanctions_table).where(
        tuple_(s.source, s.handle).in_(wanted)))).mappings().all()
    found = {(r["source"], r["handle"]): _status(r) for r in rows}
    return {a: found.get(a) or AuthorStatus(source=a[0], handle=a[1]) for a in wanted}


async def author_status(*, engine: AsyncEngine, source: str, handle: str) -> AuthorStatus:
    """For the decision engine: the author's strikes, mute and block."""
    async with engine.connect() as conn:
        found = await author_statuses(conn=conn, authors=[(source, handle)])
    return found[(source, handle)]


# --- what the pipeline reads back --------------------------------------------------------

async def releasable_messages(*, conn: AsyncConnection, limit: int) -> list[int]:
    """Messages whose every review item was dismissed and that have not been delivered to
    staff yet (`released_at` unset), oldest first."""
    c = review_table.c
    # Written as the partial index `ix_review_items_to_release` is, so both databases use it.
    pending = select(c.message_id).where(c.released, c.released_at.is_(None))
    rows = await conn.execute(
        select(c.message_id).where(c.message_id.in_(pending)).group_by(c.message_id)
        .having(func.count() == func.sum(case((c.released, 1), else_=0)))
        .order_by(c.message_id).limit(limit))
    return [int(r) for r in rows.scalars()]


async def claim_release(*, conn: AsyncConnection, message_id: int, now: dt.datetime) -> bool:
    """Stamp the message's dismissed items `released_at`; False when another worker did."""
    c = review_table.c
    claimed = await conn.execute(
        update(review_table)
        .where(c.message_id == message_id, c.released.is_(True), c.released_at.is_(None))
        .values(released_at=now))
    return bool(claimed.rowcount)


# --- moderator exposure ------------------------------------------------------------------

async def exposure_on(*, conn: AsyncConnection, moderator: str, day: dt.date) -> int:
    """Abusive or threatening items `moderator` has read on `day` (UTC)."""
    e = exposure_table.c
    value = (await conn.execute(select(e.views).where(e.moderator == moderator, e.day == day))
             ).scalar_one_or_none()
    return int(value or 0)


async def _count_exposure(conn: AsyncConnection, moderator: str, day: dt.date,
                          limit: int) -> int | None:
    """Count one more item, unless that would pass `limit` (then None)."""
    e = exposure_table.c
    await conn.execute(_insert(conn, exposure_table).values(moderator=moderator, day=day,
                                                            views=0)
                       .on_conflict_do_nothing(index_elements=["moderator", "day"]))
    value = (await conn.execute(
        update(exposure_table).where(e.moderator == moderator, e.day == day, e.views < limit)
        .values(views=e.views + 1).returning(e.views))).scalar_one_or_none()
    return None if value is None else int(value)
