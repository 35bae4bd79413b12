"""Data access for duty overrides (keyword-only functions); every change is audited in
the same transaction (`guardian.storage.audit`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.schedule.overrides import Override
from guardian.storage.audit import audit
from guardian.storage.db import utcnow
from guardian.storage.models import DutyOverride
from guardian.types import OverrideStatus

overrides_table = DutyOverride.__table__  # type: ignore[attr-defined]


async def create_override(*, conn: AsyncConnection, team: str, kind: str, person: str,
                          replaces: str | None, starts_at: dt.datetime, ends_at: dt.datetime,
                          reason: str, created_by: str, status: OverrideStatus
                          ) -> DutyOverride:
    values = {"team": team, "kind": kind, "person": person, "replaces": replaces,
              "starts_at": starts_at, "ends_at": ends_at, "reason": reason,
              "status": status.value, "created_by": created_by, "created_at": utcnow()}
    row = (await conn.execute(insert(overrides_table).values(**values)
                              .returning(*overrides_table.c))).mappings().one()
    override = DutyOverride.model_validate(dict(row))
    await audit(conn=conn, actor=created_by,
                action="swap.propose" if status == OverrideStatus.proposed else "override.create",
                subject=f"override:{override.id}",
                details={k: v.isoformat() if isinstance(v, dt.datetime) else v
                         for k, v in values.items()})
    return override


async def get_override(*, conn: AsyncConnection, override_id: int) -> DutyOverride | None:
    row = (await conn.execute(select(overrides_table)
                              .where(overrides_table.c.id == override_id))).mappings().first()
    return DutyOverride.model_validate(dict(row)) if row else None


async def decide_override(*, conn: AsyncConnection, override: DutyOverride,
                          status: OverrideStatus, by: str, action: str) -> DutyOverride:
    """Move an override to `status` if it is still in the status it was read in."""
    now = utcnow()
    c = overrides_table.c
    result = await conn.execute(
        update(overrides_table)
        .where(and_(c.id == override.id, c.status == override.status))
        .values(status=status.value, decided_by=by, decided_at=now)
    )
    if result.rowcount != 1:
        raise LookupError("the override changed meanwhile")
    await audit(conn=conn, actor=by, action=action, subject=f"override:{override.id}",
                details={"from": override.status, "to": status.value})
    return override.model_copy(update={"status": status.value, "decided_by": by,
                                       "decided_at": now})


async def list_overrides(*, engine: AsyncEngine, team: str | None = None,
                         starts: dt.datetime | None = None, ends: dt.datetime | None = None,
                         statuses: tuple[OverrideStatus, ...] = (OverrideStatus.active,)
                         ) -> list[DutyOverride]:
    """Overrides of `team` (or all) overlapping [starts, ends), oldest first."""
    c = overrides_table.c
    query = select(overrides_table).where(c.status.in_([s.value for s in statuses]))
    if team is not None:
        query = query.where(c.team == team)
    if starts is not None:
        query = query.where(c.ends_at > starts)
    if ends is not None:
        query = query.where(c.starts_at < ends)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(c.starts_at, c.id))).mappings().all()
    return [DutyOverride.model_validate(dict(r)) for r in rows]


def to_override(row: DutyOverride) -> Override:
    return Override(id=row.id or 0, kind=row.kind, person=row.person,
                    replaces=row.replaces, start=row.starts_at, end=row.ends_at,
                    reason=row.reason, team=row.team)


async def active_overrides(engine: AsyncEngine, *, start: dt.datetime, end: dt.datetime
                           ) -> list[Override]:
    return [to_override(r) for r in await list_overrides(engine=engine, starts=start,
                                                         ends=end)]
