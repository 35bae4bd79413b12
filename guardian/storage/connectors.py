"""Connector state (`connector_state`): cursors, leases, back-off and counts.

The lease makes one process of many run each connector: whoever holds an unexpired lease
fetches; the others pass. The cursor moves only in the transaction that stores the
messages it follows, and only while the lease holds (a process that lost its lease
mid-fetch writes nothing: the new holder fetches the same events again).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.storage.models import ConnectorState

connector_state_table = ConnectorState.__table__  # type: ignore[attr-defined]


class LeaseLost(RuntimeError):
    """Another process runs this connector now: what was fetched is not stored."""


async def take_lease(*, engine: AsyncEngine, name: str, kind: str, owner: str,
                     now: dt.datetime, seconds: float) -> ConnectorState | None:
    """The connector's state with its lease held by `owner` until `now + seconds`, or None
    when another process holds it."""
    c = connector_state_table.c
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    async with engine.begin() as conn:
        await conn.execute(insert(connector_state_table).values(name=name, kind=kind)
                           .on_conflict_do_nothing(index_elements=["name"]))
        row = (await conn.execute(
            update(connector_state_table)
            .where(c.name == name, or_(c.lease_owner.is_(None), c.lease_owner == owner,
                                       c.lease_until < now))
            .values(lease_owner=owner, lease_until=now + dt.timedelta(seconds=seconds),
                    kind=kind)
            .returning(*connector_state_table.c))).mappings().first()
    return ConnectorState.model_validate(dict(row)) if row else None


async def advance(*, conn: AsyncConnection, name: str, owner: str, cursor: str | None,
                  events: int, skipped: int, now: dt.datetime,
                  last_event_at: dt.datetime | None, fetched_from: str | None) -> None:
    """Move the cursor from `fetched_from` (in the transaction that stored the messages);
    raises `LeaseLost` when `owner` no longer holds the lease, or when the cursor moved
    meanwhile (`connectors backfill`), which rolls the messages back too: the next round
    reads from where the cursor is now."""
    c = connector_state_table.c
    values: dict[str, object] = {
        "cursor": cursor, "events": c.events + events, "skipped": c.skipped + skipped,
        "last_fetch_at": now, "failures": 0, "wait_until": None}
    if last_event_at is not None:
        values["last_event_at"] = last_event_at
    same = c.cursor.is_(None) if fetched_from is None else c.cursor == fetched_from
    moved = await conn.execute(update(connector_state_table)
                               .where(c.name == name, c.lease_owner == owner, same)
                               .values(**values))
    if moved.rowcount != 1:
        raise LeaseLost(f"connector {name}: lease lost, or the cursor moved meanwhile")


async def record_failure(*, engine: AsyncEngine, name: str, owner: str, error: str,
                         now: dt.datetime, wait_until: dt.datetime) -> int:
    """Note a failed fetch and when to try again; the failures in a row so far."""
    c = connector_state_table.c
    async with engine.begin() as conn:
        found = (await conn.execute(
            update(connector_state_table).where(c.name == name, c.lease_owner == owner)
            .values(failures=c.failures + 1, last_error=error[:2000], last_error_at=now,
                    wait_until=wait_until)
            .returning(c.failures))).scalar()
    return int(found or 0)


async def release(*, engine: AsyncEngine, name: str, owner: str) -> None:
    c = connector_state_table.c
    async with engine.begin() as conn:
        await conn.execute(update(connector_state_table)
                           .where(c.name == name, c.lease_owner == owner)
                           .values(lease_owner=None, lease_until=None))


async def set_cursor(*, engine: AsyncEngine, name: str, kind: str, cursor: str | None) -> None:
    """Move a connector's cursor by hand (`guardian connectors backfill`)."""
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    async with engine.begin() as conn:
        await conn.execute(insert(connector_state_table).values(name=name, kind=kind)
                           .on_conflict_do_nothing(index_elements=["name"]))
        await conn.execute(update(connector_state_table)
                           .where(connector_state_table.c.name == name)
                           .values(cursor=cursor, wait_until=None, failures=0))


async def connector_states(*, engine: AsyncEngine) -> list[ConnectorState]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(connector_state_table)
                                   .order_by(connector_state_table.c.name))).mappings().all()
    return [ConnectorState.model_validate(dict(r)) for r in rows]


async def count_pushed(*, conn: AsyncConnection, name: str, kind: str, events: int,
                       skipped: int, now: dt.datetime,
                       last_event_at: dt.datetime | None) -> None:
    """A pushed connector's (`/hooks/{id}`) counts, in the transaction that stored its
    messages: its status reads like a polled one's."""
    c = connector_state_table.c
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(insert(connector_state_table).values(name=name, kind=kind)
                       .on_conflict_do_nothing(index_elements=["name"]))
    values: dict[str, object] = {"events": c.events + events, "skipped": c.skipped + skipped,
                                 "last_fetch_at": now, "kind": kind}
    if last_event_at is not None:
        values["last_event_at"] = last_event_at
    await conn.execute(update(connector_state_table).where(c.name == name).values(**values))
