"""Human labels: the messages moderators decided, as data the scorer can be measured on
(`guardian labels export`, then `guardian eval`).

A message is `abusive` when a moderator confirmed, muted or blocked on it, `not_abusive`
when a moderator dismissed it. Its latest decision counts (a dismissed hold that staff
later flagged and a moderator confirmed is abusive). Escalations (passed on to HR or the
police, not judged) and items not decided yet (a flag waiting for a moderator) give no
label. `source` says where the judged item came from: `flag` (a staff member's flag) or
`moderation` (the decision engine held it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.review.queue import FLAG_REASON, review_table
from guardian.storage.messages import messages_table
from guardian.types import ReviewDecision, ReviewStatus

ABUSIVE = "abusive"
NOT_ABUSIVE = "not_abusive"
LABEL_OF: dict[str, str] = {
    ReviewDecision.confirm.value: ABUSIVE, ReviewDecision.mute.value: ABUSIVE,
    ReviewDecision.block.value: ABUSIVE, ReviewDecision.dismiss.value: NOT_ABUSIVE}


@dataclass(frozen=True)
class Labelled:
    """One message with a human label."""

    message_id: int
    text: str                # the raw text, as the citizen wrote it
    lang: str | None
    label: str               # abusive | not_abusive
    source: str              # flag | moderation
    level: str | None        # what the scorer said (none, rude, abusive, threat)
    decided_at: dt.datetime
    decision: str            # the moderator's decision the label comes from


async def labelled_messages(*, conn: AsyncConnection, since: dt.datetime | None = None
                            ) -> list[Labelled]:
    """Every message with a human label, in message id order; `since`: only decisions made
    at or after it."""
    return list(_latest(await _decided_rows(conn, since)))


async def _decided_rows(conn: AsyncConnection, since: dt.datetime | None) -> list[Labelled]:
    r, m = review_table.c, messages_table.c
    query = (
        select(r.message_id, r.reason, r.decision, r.decided_at, m.text, m.lang,
               m.harassment_level, m.assessment)
        .select_from(review_table.join(messages_table, m.id == r.message_id))
        .where(r.status == ReviewStatus.decided.value, r.decision.in_(list(LABEL_OF)),
               r.decided_at.is_not(None))
        .order_by(r.message_id, r.decided_at, r.id))
    if since is not None:
        query = query.where(r.decided_at >= since)
    rows = (await conn.execute(query)).all()
    return [Labelled(
        message_id=row.message_id, text=row.text,
        lang=row.lang or _scored_lang(row.assessment), label=LABEL_OF[row.decision],
        source="flag" if row.reason == FLAG_REASON else "moderation",
        level=row.harassment_level, decided_at=row.decided_at, decision=row.decision)
        for row in rows]


def _scored_lang(assessment: object) -> str | None:
    """The language the scorer detected, when the message named none."""
    if isinstance(assessment, dict) and isinstance(assessment.get("lang"), str):
        return str(assessment["lang"])
    return None


def _latest(rows: list[Labelled]) -> Iterator[Labelled]:
    """The last decision of each message (rows come in message, then decision, order)."""
    for index, row in enumerate(rows):
        if index + 1 == len(rows) or rows[index + 1].message_id != row.message_id:
            yield row
