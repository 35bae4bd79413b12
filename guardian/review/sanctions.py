"""Author sanctions (the table `author_sanctions`): strikes, mutes and blocks of one
author on one source, as moderators decide them. Each is an upsert that changes the row in
one statement, as `guardian.review.rules.apply_sanction` says it changes, and is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.policy.model import Moderation
from guardian.review import rules
from guardian.review.rules import AuthorStatus
from guardian.storage.audit import audit
from guardian.storage.db import utcnow
from guardian.storage.models import AuthorSanction

sanctions_table = AuthorSanction.__table__  # type: ignore[attr-defined]


def _status(row: Any) -> AuthorStatus:
    return AuthorStatus(source=row["source"], handle=row["handle"], strikes=row["strikes"],
                        muted_until=row["muted_until"], blocked=row["blocked"])


async def _upsert(conn: AsyncConnection, source: str, handle: str, now: dt.datetime,
                  inserted: dict[str, Any], updated: Any) -> AuthorStatus:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(sanctions_table).values(
        source=source, handle=handle, updated_at=now,
        **{"strikes": 0, "muted_until": None, "blocked": False, **inserted})
    changes = {"updated_at": statement.excluded.updated_at, **updated(statement.excluded)}
    row = (await conn.execute(
        statement.on_conflict_do_update(index_elements=["source", "handle"], set_=changes)
        .returning(*sanctions_table.c))).mappings().one()
    return _status(row)


def _subject(source: str, handle: str) -> str:
    return f"author:{source}:{handle}"[:128]


async def strike_author(*, conn: AsyncConnection, source: str, handle: str, by: str,
                        moderation: Moderation, count: int = 1,
                        now: dt.datetime | None = None) -> AuthorStatus:
    """Add `count` strikes; the policy's strike rule may mute the author
    (`rules.auto_mute_until`)."""
    now = now or utcnow()
    s = sanctions_table.c
    status = await _upsert(conn, source, handle, now, {"strikes": count},
                           lambda new: {"strikes": s.strikes + new.strikes})
    await audit(conn=conn, actor=by, action="author.strike", subject=_subject(source, handle),
                details={"added": count, "strikes": status.strikes})
    until = rules.auto_mute_until(status.strikes, now, moderation)
    if until is not None:
        status = await mute_author(conn=conn, source=source, handle=handle, by=by,
                                   until=until, now=now, action="author.auto_mute")
    return status


async def mute_author(*, conn: AsyncConnection, source: str, handle: str, by: str,
                      until: dt.datetime, now: dt.datetime | None = None,
                      action: str = "author.mute") -> AuthorStatus:
    """Mute until `until`; a longer mute already in force is kept (`rules.longer_mute`,
    done by the upsert itself so that concurrent mutes cannot shorten one)."""
    now = now or utcnow()
    s = sanctions_table.c
    status = await _upsert(conn, source, handle, now, {"muted_until": until}, lambda new: {
        "muted_until": case((s.muted_until > new.muted_until, s.muted_until),
                            else_=new.muted_until)})
    await audit(conn=conn, actor=by, action=action, subject=_subject(source, handle),
                details={"until": until.isoformat(), "strikes": status.strikes,
                         "muted_until": status.muted_until.isoformat()
                         if status.muted_until else None})
    return status


async def block_author(*, conn: AsyncConnection, source: str, handle: str, by: str,
                       now: dt.datetime | None = None) -> AuthorStatus:
    """Block: every further message of the author is dropped."""
    now = now or utcnow()
    status = await _upsert(conn, source, handle, now, {"blocked": True},
                           lambda new: {"blocked": new.blocked})
    await audit(conn=conn, actor=by, action="author.block", subject=_subject(source, handle),
                details={"strikes": status.strikes})
    return status


async def author_statuses(*, conn: AsyncConnection, authors: Iterable[tuple[str, str]]
                          ) -> dict[tuple[str, str], AuthorStatus]:
    """The sanctions of each (source, handle); authors without any get a clean status."""
    wanted = list(dict.fromkeys(authors))
    if not wanted:
        return {}
    s = sanctions_table.c
    rows = (await conn.execute(select(sanctions_table).where(
        tuple_(s.source, s.handle).in_(wanted)))).mappings().all()
    found = {(r["source"], r["handle"]): _status(r) for r in rows}
    return {a: found.get(a) or AuthorStatus(source=a[0], handle=a[1]) for a in wanted}


async def author_status(*, engine: AsyncEngine, source: str, handle: str) -> AuthorStatus:
    """For the decision engine: the author's strikes, mute and block."""
    async with engine.connect() as conn:
        found = await author_statuses(conn=conn, authors=[(source, handle)])
    return found[(source, handle)]
