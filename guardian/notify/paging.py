"""Page events into the outbox: the person paged (or escalated to, or the last resort)
gets an urgent notification carrying the signed acknowledgement link and reply code (and
the link to flag the page's message as abusive), written in the transaction that records
the event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.acks.links import FlagLinks, ack_token, reply_code
from guardian.notify import queue
from guardian.notify.compose import MessageView, PageView, for_page_event
from guardian.policy.model import Policy
from guardian.storage.messages import read_message
from guardian.storage.models import Page, PageEvent

NOTIFIED_EVENTS = frozenset({"paged", "escalated", "last_resort"})


async def message_view(conn: AsyncConnection, message_id: int | None
                       ) -> tuple[MessageView | None, str]:
    """The page's message as notifications show it, and its urgency."""
    if message_id is None:
        return None, "emergency"
    row = await read_message(conn=conn, message_id=message_id)
    if row is None:
        return None, "emergency"
    urgency = (row.decision or {}).get("urgency", "emergency")
    return MessageView.of(row), str(urgency)


@dataclass
class PageNotifier:
    """Called with each page event, inside the transaction that recorded it."""

    policy: Callable[[], Policy | None]
    secret: str
    base_url: str

    async def __call__(self, conn: AsyncConnection, page: Page, event: PageEvent,
                       now: dt.datetime) -> None:
        policy = self.policy()
        if event.kind not in NOTIFIED_EVENTS or event.person is None or policy is None:
            return
        assert page.id is not None
        message, urgency = await message_view(conn, page.message_id)
        person = event.person
        view = PageView(page_id=page.id, event_seq=event.seq, step=event.kind, person=person,
                        category=page.category, urgency=urgency, team=page.team or None,
                        escalated_from=page.person if page.person != person else None)
        planned = for_page_event(
            view, message, policy, now, self.base_url,
            ack_url=f"{self.base_url}/ack/{ack_token(self.secret, page.id, person)}",
            reply_code=reply_code(self.secret, page.id, person),
            flag_url=FlagLinks(self.secret, self.base_url))
        await queue.put(conn=conn, planned=planned, message_id=page.message_id,
                        page_id=page.id)
