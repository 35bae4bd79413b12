"""Moderators' exposure (the table `moderator_exposure`): how many abusive or threatening
items each has read, per UTC day, against the policy's daily limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.storage.models import ModeratorExposure

exposure_table = ModeratorExposure.__table__  # type: ignore[attr-defined]


def _insert(conn: AsyncConnection) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(exposure_table)


class ExposureLimitReached(Exception):
    """The moderator has read as many abusive items today as the policy allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"daily exposure limit of {limit} reached")
        self.limit = limit

async def exposure_on(*, conn: AsyncConnection, moderator: str, day: dt.date) -> int:
    """Abusive or threatening items `moderator` has read on `day` (UTC)."""
    e = exposure_table.c
    value = (await conn.execute(select(e.views).where(e.moderator == moderator, e.day == day))
             ).scalar_one_or_none()
    return int(value or 0)


async def count_exposure(*, conn: AsyncConnection, moderator: str, day: dt.date,
                         limit: int) -> int | None:
    """Count one more item, unless that would pass `limit` (then None)."""
    e = exposure_table.c
    await conn.execute(_insert(conn).values(moderator=moderator, day=day,
                                                            views=0)
                       .on_conflict_do_nothing(index_elements=["moderator", "day"]))
    value = (await conn.execute(
        update(exposure_table).where(e.moderator == moderator, e.day == day, e.views < limit)
        .values(views=e.views + 1).returning(e.views))).scalar_one_or_none()
    return None if value is None else int(value)
