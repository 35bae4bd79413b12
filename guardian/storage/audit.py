"""The audit log: who changed what, when. Written in the transaction of the change it
records (overrides, swaps, tokens, moderators' actions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.storage.db import utcnow
from guardian.storage.models import AuditEvent

audit_table = AuditEvent.__table__  # type: ignore[attr-defined]

_AUDIT_INSERT = insert(audit_table)


async def audit(*, conn: AsyncConnection, actor: str, action: str, subject: str,
                details: dict[str, Any], at: dt.datetime | None = None) -> None:
    # A plain insert executed with parameters: compiled once, not once per call.
    await conn.execute(_AUDIT_INSERT, {"at": at or utcnow(), "actor": actor,
                                       "action": action, "subject": subject,
                                       "details": details})


async def audit_many(*, conn: AsyncConnection, actor: str, action: str,
                     entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """One audit row per (subject, details), in one statement."""
    if entries:
        at = utcnow()
        await conn.execute(_AUDIT_INSERT, [
            {"at": at, "actor": actor, "action": action, "subject": subject, "details": details}
            for subject, details in entries])


async def list_audit(*, engine: AsyncEngine, limit: int = 100, before_id: int | None = None
                     ) -> list[AuditEvent]:
    query = select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_table.c.id < before_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [AuditEvent.model_validate(dict(r)) for r in rows]
