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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.decide import Context, Judged, decide
from guardian.decision_stage import DutyTimeline, Notifying, notify_staff
from guardian.notify.compose import MessageView
from guardian.notify.outbox import sent_counts
from guardian.notify.timing import CAPPED_KINDS
from guardian.storage.messages import messages_table
from guardian.storage.models import Message
from guardian.storage.review import claim_release, releasable_messages

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
        async with self.engine.connect() as conn:
            ready = await releasable_messages(conn=conn, limit=limit)
        built = await self.timeline.get(now) if ready else None
        done: list[int] = []
        if built is None:
            return done
        for message_id in ready:
            async with self.engine.begin() as conn:
                # Whoever stamps the items first delivers; a second worker stops here.
                if not await claim_release(conn=conn, message_id=message_id, now=now):
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
                view = MessageView.masked(message)
                judged = replace(Judged.from_stored(message.assessment or {}, view.text,
                                                    message.text),
                                 level="none")
                sent = await sent_counts(conn=conn, kinds=CAPPED_KINDS,
                                         since=now - dt.timedelta(hours=1))
                context = Context(sent_last_hour=sent, overrides=built.overrides)
                decision = decide(message, judged, context, built.policy, now, built.timeline)
                decision = replace(decision, outcomes=tuple(
                    o for o in decision.outcomes if o.kind in STAFF_KINDS and o.recipients))
                await notify_staff(
                    conn, view, decision, f"{decision.category} ({decision.urgency}): "
                    f"{view.text[:300]}", now, built.policy, self.notifying,
                    key_prefix="release")
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
