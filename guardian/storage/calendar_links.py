"""The generation of each calendar link (`calendar_links`): its owner revokes the links
given out so far by raising it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.storage.models import CalendarLink

calendar_links_table = CalendarLink.__table__  # type: ignore[attr-defined]


async def generation(*, conn: AsyncConnection, kind: str, ident: str) -> int:
    c = calendar_links_table.c
    found = (await conn.execute(select(c.generation).where(
        c.kind == kind, c.ident == ident))).scalar()
    return int(found or 0)


async def revoke(*, conn: AsyncConnection, kind: str, ident: str, now: dt.datetime) -> int:
    """Raise the link's generation (the links signed before stop working); the new one."""
    c = calendar_links_table.c
    moved = await conn.execute(update(calendar_links_table)
                               .where(c.kind == kind, c.ident == ident)
                               .values(generation=c.generation + 1, revoked_at=now))
    if moved.rowcount == 0:
        await conn.execute(insert(calendar_links_table).values(
            kind=kind, ident=ident, generation=1, revoked_at=now))
    return await generation(conn=conn, kind=kind, ident=ident)
