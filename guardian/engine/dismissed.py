"""Messages a moderator dismissed go to staff as normal requests (a job of the engine).

A dismissal (`guardian.review.decisions.decide_review`) only marks the review items
`released` (to staff). This job then decides the message again as the moderator judged it
(no harassment), keeps what reaches staff (deliver now, or their digest; an emergency
pages), and queues it, in one transaction that also stamps the items `released_at` and
adds the release, with its reasons, to the message's stored decision. The text staff get
stays masked: the moderator saw the original; staff need the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.decide import Context, Judged, decide
from guardian.engine.decision_stage import Notifying, notify_staff
from guardian.engine.timeline import DutyTimeline
from guardian.notify.compose import MessageView
from guardian.review.queue import claim_dismissed, dismissed_undelivered
from guardian.storage.db import utcnow
from guardian.storage.messages import read_message, set_decision
from guardian.storage.outbox import sent_counts

log = logging.getLogger(__name__)

STAFF_KINDS = frozenset({"deliver_now", "defer", "page"})


def _reached_staff(decision: dict[str, object]) -> bool:
    outcomes = decision.get("outcomes")
    return isinstance(outcomes, list) and any(
        isinstance(o, dict) and o.get("audience") == "staff" and o.get("recipients")
        for o in outcomes)


@dataclass
class DismissedDelivery:
    engine: AsyncEngine
    timeline: DutyTimeline
    notifying: Notifying
    clock: Callable[[], dt.datetime] = utcnow
    name: ClassVar[str] = "dismissed"

    async def run_once(self) -> int:
        return len(await self.deliver(self.clock()))

    async def deliver(self, now: dt.datetime, limit: int = 50) -> list[int]:
        """Deliver the messages dismissed since the last round; return their ids."""
        async with self.engine.connect() as conn:
            ready = await dismissed_undelivered(conn=conn, limit=limit)
        built = await self.timeline.get(now) if ready else None
        done: list[int] = []
        if built is None:
            return done
        for message_id in ready:
            async with self.engine.begin() as conn:
                # Whoever stamps the items first delivers; a second worker stops here.
                if not await claim_dismissed(conn=conn, message_id=message_id, now=now):
                    continue
                message = await read_message(conn=conn, message_id=message_id)
                if message is None:
                    continue
                if _reached_staff(message.decision or {}):
                    # Shielded: staff had the masked request already; nothing to add.
                    continue
                view = MessageView.masked(message)
                judged = replace(Judged.from_stored(message.assessment or {}, view.text,
                                                    message.text),
                                 level="none")
                sent = await sent_counts(conn=conn,
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
                await set_decision(conn=conn, message_id=message_id, decision=stored)
            log.info("message %s released to staff: %s", message_id,
                     ", ".join(o.kind for o in decision.outcomes) or "no one to tell")
            done.append(message_id)
        return done
