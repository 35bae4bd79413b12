"""Data access for messages: keyword-only functions over an async engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Insert, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.schemas import MessageIn
from guardian.storage.db import utcnow
from guardian.storage.models import FINAL_STAGE, Message, Stage, StageEvent

messages_table = Message.__table__  # type: ignore[attr-defined]
events_table = StageEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Stored:
    id: int
    source: str
    external_id: str
    duplicate: bool


def _build_insert(dialect: str) -> Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(messages_table)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(messages_table.c.id, messages_table.c.source, messages_table.c.external_id)
    )


# Built once per dialect and executed with the rows as parameters, so SQLAlchemy compiles it
# once; `.values(rows)` would be compiled anew for every request (half of ingest's CPU).
_INSERTS = {dialect: _build_insert(dialect) for dialect in ("postgresql", "sqlite")}


def _row(message: MessageIn, now: dt.datetime) -> dict[str, object]:
    return {
        "source": message.source,
        "external_id": message.external_id,
        "author_handle": message.author.handle,
        "author_name": message.author.name,
        "text": message.text,
        "lang": message.lang,
        "mentions": list(message.mentions),
        "in_reply_to": message.in_reply_to,
        "url": message.url,
        "created_at": message.created_at,
        "received_at": now,
        "stage": Stage.received.value,
        "available_at": now,
        "attempts": 0,
        "stage_times": {Stage.received.value: now.isoformat()},
    }


async def store_messages(*, conn: AsyncConnection, messages: Sequence[MessageIn],
                         now: dt.datetime | None = None) -> list[Stored]:
    """Insert what is new, keep what exists; answer one `Stored` per input, in order.

    Idempotent on (source, external_id), also between concurrent requests: the database's
    unique constraint decides, `ON CONFLICT DO NOTHING` keeps the first.
    """
    now = now or utcnow()
    keys = [(m.source, m.external_id) for m in messages]
    first_of_key: dict[tuple[str, str], int] = {}
    for index, key in enumerate(keys):
        first_of_key.setdefault(key, index)
    rows = [_row(messages[i], now) for i in sorted(first_of_key.values())]
    statement = _INSERTS[conn.dialect.name]
    created = {(r.source, r.external_id): r.id for r in await conn.execute(statement, rows)}
    missing = [k for k in first_of_key if k not in created]
    existing: dict[tuple[str, str], int] = {}
    if missing:
        found = await conn.execute(
            select(messages_table.c.id, messages_table.c.source, messages_table.c.external_id)
            .where(tuple_(messages_table.c.source, messages_table.c.external_id).in_(missing))
        )
        existing = {(r.source, r.external_id): r.id for r in found}
    result = []
    for index, key in enumerate(keys):
        is_new = key in created and first_of_key[key] == index
        ident = created.get(key) or existing[key]
        result.append(Stored(id=ident, source=key[0], external_id=key[1], duplicate=not is_new))
    return result


async def get_message(*, engine: AsyncEngine, message_id: int
                      ) -> tuple[Message, list[StageEvent]] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(
            select(messages_table).where(messages_table.c.id == message_id)
        )).mappings().first()
        if row is None:
            return None
        events = (await conn.execute(
            select(events_table).where(events_table.c.message_id == message_id)
            .order_by(events_table.c.id)
        )).mappings().all()
    return Message.model_validate(dict(row)), [StageEvent.model_validate(dict(e)) for e in events]


async def count_by_stage(*, engine: AsyncEngine) -> dict[str, int]:
    """Messages per stage, plus `failed` for those parked after too many attempts."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(messages_table.c.stage, (messages_table.c.failed_at.is_not(None)).label("f"),
                   func.count())
            .group_by(messages_table.c.stage, "f")
        )).all()
    counts = {stage.value: 0 for stage in Stage}
    counts["failed"] = 0
    for stage, failed, n in rows:
        counts["failed" if failed else stage] += n
    return counts


def pending_count(counts: dict[str, int]) -> int:
    return sum(n for stage, n in counts.items() if stage not in (FINAL_STAGE.value, "failed"))
