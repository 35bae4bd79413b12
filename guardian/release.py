"""Messages a moderator dismissed go to staff as normal requests.

A dismissal (`guardian.storage.review.decide_review`) only marks the review items
`released`. The notifier loop then decides the message again as the moderator judged it
(no harassment), keeps what reaches staff (deliver now, or their digest; an emergency
pages), and queues it, in one transaction that also stamps the items `released_at` and
adds the release, with its reasons, to the message's stored decision. The text staff get
stays masked: the moderator saw the original; staff need the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.decide import Context, Judged, decide
from guardian.decision_stage import DutyTimeline, Notifying
from guardian.notify import queue
from guardian.notify.compose import MessageView, for_decision
from guardian.notify.outbox import sent_counts
from guardian.notify.timing import CAPPED_KINDS
from guardian.storage.messages import messages_table
from guardian.storage.models import Message
from guardian.storage.pages import Step, open_page
from guardian.storage.review import review_table

log = logging.getLogger(__name__)

STAFF_KINDS = frozenset({"deliver_now", "defer", "page"})


def _reached_staff(decision: dict[str, object]) -> bool:
    outcomes = decision.get("outcomes")
    return isinstance(outcomes, list) and any(
        isinstance(o, dict) and o.get("audience") == "staff" and o.get("recipients")
        for o in outcomes)


@dataclass
class Releaser:
    engine: AsyncEngine
    timeline: DutyTimeline
    notifying: Notifying

    async def run_once(self, now: dt.datetime, limit: int = 50) -> list[int]:
        """Deliver the messages released since the last round; return their ids."""
        r = review_table.c
        async with self.engine.connect() as conn:
            # Messages whose every item was dismissed, not yet delivered.
            pending = (select(r.message_id)
                       .where(r.released.is_(True), r.released_at.is_(None)))
            ready = list((await conn.execute(
                select(r.message_id).where(r.message_id.in_(pending))
                .group_by(r.message_id)
                .having(func.count() == func.sum(case((r.released, 1), else_=0)))
                .order_by(r.message_id).limit(limit))).scalars())
        built = await self.timeline.get(now) if ready else None
        done: list[int] = []
        if built is None:
            return done
        for message_id in sorted(ready):
            async with self.engine.begin() as conn:
                # Claim: whoever stamps the items first delivers; a second worker stops here.
                claimed = await conn.execute(
                    update(review_table)
                    .where(and_(r.message_id == message_id, r.released.is_(True),
                                r.released_at.is_(None)))
                    .values(released_at=now))
                if not claimed.rowcount:
                    continue
                row = (await conn.execute(select(messages_table)
                                          .where(messages_table.c.id == message_id))
                       ).mappings().first()
                if row is None:
                    continue
                message = Message.model_validate(dict(row))
                if _reached_staff(message.decision or {}):
                    # Shielded: staff had the masked request already; nothing to add.
                    continue
                masked = message.masked_text if message.masked_text is not None else message.text
                judged = replace(Judged.from_stored(message.assessment or {}, masked,
                                                    message.text),
                                 level="none")
                sent = await sent_counts(conn=conn, kinds=CAPPED_KINDS,
                                         since=now - dt.timedelta(hours=1))
                context = Context(sent_last_hour=sent, overrides=built.overrides)
                decision = decide(message, judged, context, built.policy, now, built.timeline)
                decision = replace(decision, outcomes=tuple(
                    o for o in decision.outcomes if o.kind in STAFF_KINDS and o.recipients))
                view = MessageView(id=message_id, author=message.author_handle, text=masked,
                                   masked_text=masked, received_at=message.received_at)
                for planned in for_decision(decision, view, built.policy, now,
                                            self.notifying.base_url, key_prefix="release"):
                    await queue.put(conn=conn, planned=planned, message_id=message_id)
                for page in decision.of_kind("page"):
                    if page.escalation is None or page.bundle_with is not None:
                        continue
                    steps = [Step(p, m) for p, m in page.escalation.page_steps()]
                    if steps:
                        opened, event = await open_page(
                            conn=conn, team=page.escalation.team, now=now,
                            reason=f"{decision.category} ({decision.urgency}): {masked[:300]}",
                            plan=steps, last_resort=page.escalation.last_resort,
                            message_id=message_id, category=decision.category)
                        if self.notifying.page_hook is not None:
                            await self.notifying.page_hook(conn, opened, event, now)
                stored = dict(message.decision or {})
                stored["release"] = {
                    "at": now.isoformat(),
                    "outcomes": [o.to_json() for o in decision.outcomes],
                    "reasons": ["a moderator dismissed the review: delivered to staff as a "
                                "normal request (the text stays masked)", *decision.reasons]}
                await conn.execute(messages_table.update()
                                   .where(messages_table.c.id == message_id)
                                   .values(decision=stored))
            log.info("message %s released to staff: %s", message_id,
                     ", ".join(o.kind for o in decision.outcomes) or "no one to tell")
            done.append(message_id)
        return done
