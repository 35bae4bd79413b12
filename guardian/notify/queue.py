"""Planned notifications into the outbox, with the plain-text body the delivery log shows
(each channel gets its own rendering when it is sent)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.notify.compose import Planned
from guardian.notify.render import render
from guardian.storage import outbox
from guardian.storage.models import Notification


async def put(*, conn: AsyncConnection, planned: Planned, message_id: int | None = None,
              page_id: int | None = None) -> Notification:
    body = render(planned.kind.value, planned.lang, planned.payload).body
    return await outbox.enqueue(
        conn=conn, recipient=planned.recipient, kind=planned.kind, body=body,
        due_at=planned.due_at, idempotency_key=planned.idempotency_key,
        message_id=message_id, page_id=page_id, payload=planned.payload, lang=planned.lang,
        category=planned.category, status=planned.status)
