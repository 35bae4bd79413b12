"""Moderators' decisions on review items: dismiss, confirm, escalate, mute or block, for
one item or many at once, each audited, with the sanctions they bring on the authors."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.policy.model import Moderation
from guardian.review import rules
from guardian.review.queue import FLAG_REASON, review_table, why_not
from guardian.review.rules import AuthorStatus
from guardian.review.sanctions import block_author, mute_author, strike_author
from guardian.storage.audit import audit
from guardian.storage.db import utcnow
from guardian.storage.messages import authors_of
from guardian.storage.models import ReviewItem
from guardian.types import ReviewDecision, ReviewStatus


@dataclass(frozen=True)
class Decided:
    items: list[ReviewItem]
    skipped: dict[int, str]          # item id -> why it was not decided
    authors: list[AuthorStatus]      # the sanctions of the authors concerned, after

async def decide_review(*, conn: AsyncConnection, item_ids: Sequence[int],
                        decision: ReviewDecision, moderator: str, moderation: Moderation,
                        note: str | None = None, mute_days: int | None = None,
                        escalated_to: str | None = None, now: dt.datetime | None = None
                        ) -> Decided:
    """Decide each item that is undecided and not claimed by someone else; skip the rest
    (with why). Then sanction the authors (`rules.sanction_of`): `confirm` adds a strike per
    item (the policy's strike rule may mute), `mute` mutes for `mute_days` (default the
    policy's), `block` blocks. `dismiss` sets `released` (but not on a staff member's flag,
    whose message staff had already): the engine delivers the message to staff
    (`guardian.engine.dismissed`)."""
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
                # A dismissed flag releases nothing: staff had the message already.
                released=(c.reason != FLAG_REASON) if decision == ReviewDecision.dismiss
                else False)
        .returning(*review_table.c)
    )).mappings().all()
    position = {item_id: n for n, item_id in enumerate(wanted)}
    items = sorted((ReviewItem.model_validate(dict(r)) for r in rows),
                   key=lambda i: position[i.id or 0])
    done = {i.id for i in items}
    skipped = await why_not(conn, [i for i in wanted if i not in done], moderator, now)
    for item in items:
        details: dict[str, Any] = {"decision": decision.value, "message_id": item.message_id,
                                   "note": note, "bulk": len(wanted) > 1}
        if escalated_to is not None:
            details["escalated_to"] = escalated_to
        if mute_days is not None:
            details["mute_days"] = mute_days
        await audit(conn=conn, actor=moderator, action="review.decide",
                    subject=f"review:{item.id}", details=details)
    authors = await _sanction(conn, items, decision, moderator, mute_days, now, moderation)
    return Decided(items=items, skipped=skipped, authors=authors)


async def _sanction(conn: AsyncConnection, items: Sequence[ReviewItem],
                    decision: ReviewDecision, moderator: str, mute_days: int | None,
                    now: dt.datetime, moderation: Moderation) -> list[AuthorStatus]:
    sanction = rules.sanction_of(decision)
    if sanction is None:
        return []
    authors = await authors_of(conn=conn, message_ids=list({i.message_id for i in items}))
    per_author = Counter(authors[i.message_id] for i in items if i.message_id in authors)
    result = []
    for (source, handle), count in per_author.items():
        if sanction == "strike":
            status = await strike_author(conn=conn, source=source, handle=handle, by=moderator,
                                         moderation=moderation, count=count, now=now)
        elif sanction == "mute":
            status = await mute_author(conn=conn, source=source, handle=handle, by=moderator,
                                       until=rules.mute_until(now, mute_days, moderation),
                                       now=now)
        else:
            status = await block_author(conn=conn, source=source, handle=handle,
                                        by=moderator, now=now)
        result.append(status)
    return result
