"""Request states (`request_states`): one row per request that has moved since receipt."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.storage.models import RequestState
from guardian.types import RequestStatus

request_states_table = RequestState.__table__  # type: ignore[attr-defined]


async def request_state(*, conn: AsyncConnection, message_id: int) -> RequestState | None:
    row = (await conn.execute(select(request_states_table).where(
        request_states_table.c.message_id == message_id))).mappings().first()
    return RequestState.model_validate(dict(row)) if row else None


async def record_move(*, conn: AsyncConnection, message_id: int, team: str, category: str,
                      before: RequestState | None, status: RequestStatus, by: str,
                      reason: str | None, now: dt.datetime) -> RequestState | None:
    """Write the move; None when someone else moved the request meanwhile (the caller
    answers 409). The first acknowledgement and the first resolution keep their time."""
    values = {"status": status.value, "changed_at": now, "changed_by": by,
              "reason": reason, "team": team, "category": category}
    acknowledged = status in (RequestStatus.acknowledged, RequestStatus.in_progress,
                              RequestStatus.resolved)
    if before is None:
        await conn.execute(insert(request_states_table).values(
            message_id=message_id, **values,
            acknowledged_at=now if acknowledged else None,
            resolved_at=now if status == RequestStatus.resolved else None))
    else:
        c = request_states_table.c
        if acknowledged and before.acknowledged_at is None:
            values["acknowledged_at"] = now
        if status == RequestStatus.resolved and before.resolved_at is None:
            values["resolved_at"] = now
        moved = await conn.execute(update(request_states_table).where(
            c.message_id == message_id, c.status == before.status,
            c.changed_at == before.changed_at).values(**values))
        if moved.rowcount != 1:
            return None
    return await request_state(conn=conn, message_id=message_id)
