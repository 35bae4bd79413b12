"""Pages and their escalation timers: rows in the database, advanced exactly once.

A page notifies `plan[0]` at once; at `due_at`, unless acknowledged, the next step is
paged; after the last step the policy's last-resort contact is told and the page is
`exhausted`. Advancing locks the rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and checks
the status and step it read, so any number of workers, and restarts, fire each step once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.storage.models import Page, PageEvent
from guardian.storage.outbox import cancel_for_page
from guardian.types import PageStatus

# Called with each event in the transaction that records it (to queue its notification).
PageHook = Callable[[AsyncConnection, Page, PageEvent, dt.datetime], Awaitable[None]]

pages_table = Page.__table__  # type: ignore[attr-defined]
page_events_table = PageEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Step:
    person: str
    delay_minutes: int


async def _event(conn: AsyncConnection, page_id: int, kind: str, person: str | None,
                 at: dt.datetime, actor: str | None = None) -> PageEvent:
    seq = (await conn.execute(
        select(func.coalesce(func.max(page_events_table.c.seq), -1) + 1)
        .where(page_events_table.c.page_id == page_id))).scalar_one()
    values = {"page_id": page_id, "seq": seq, "kind": kind, "person": person, "actor": actor,
              "at": at}
    row = (await conn.execute(insert(page_events_table).values(**values)
                              .returning(*page_events_table.c))).mappings().one()
    return PageEvent.model_validate(dict(row))


async def open_page(*, conn: AsyncConnection, team: str, reason: str, plan: Sequence[Step],
                    last_resort: str | None, now: dt.datetime, message_id: int | None = None,
                    category: str | None = None) -> tuple[Page, PageEvent]:
    """Page `plan[0]` now; the timer is set for the next step."""
    if not plan:
        raise ValueError("a page needs at least one step")
    first = plan[0]
    row = (await conn.execute(insert(pages_table).values(
        message_id=message_id, team=team, category=category, reason=reason[:500],
        plan=[{"person": s.person, "delay_minutes": s.delay_minutes} for s in plan],
        last_resort=last_resort, step=0, person=first.person, status=PageStatus.open.value,
        due_at=now + dt.timedelta(minutes=first.delay_minutes), created_at=now,
    ).returning(*pages_table.c))).mappings().one()
    page = Page.model_validate(dict(row))
    return page, await _event(conn, page.id or 0, "paged", first.person, now)


async def advance_due(*, engine: AsyncEngine, now: dt.datetime, limit: int = 100,
                      notify: PageHook | None = None) -> list[PageEvent]:
    """Escalate every open page whose timer has passed; return what to notify."""
    c = pages_table.c
    events: list[PageEvent] = []
    async with engine.begin() as conn:
        due = (await conn.execute(
            select(pages_table).where(c.status == PageStatus.open.value, c.due_at <= now)
            .order_by(c.due_at).limit(limit).with_for_update(skip_locked=True)
        )).mappings().all()
        for raw in due:
            page = Page.model_validate(dict(raw))
            nxt = page.step + 1
            person: str | None
            if nxt < len(page.plan):
                step = page.plan[nxt]
                values = {"step": nxt, "person": step["person"],
                          "due_at": now + dt.timedelta(minutes=int(step["delay_minutes"]))}
                kind, person = "escalated", str(step["person"])
            else:
                values = {"status": PageStatus.exhausted.value}
                kind, person = "last_resort", page.last_resort
            moved = await conn.execute(
                update(pages_table)
                .where(and_(c.id == page.id, c.status == PageStatus.open.value,
                            c.step == page.step))
                .values(**values))
            if moved.rowcount == 1:
                event = await _event(conn, page.id or 0, kind, person, now)
                if notify is not None:
                    await notify(conn, page, event, now)
                events.append(event)
    return events


async def acknowledge(*, conn: AsyncConnection, page_id: int, actor: str, now: dt.datetime
                      ) -> Page | None:
    """Stop the escalation; None when there is no open page with that id."""
    c = pages_table.c
    moved = await conn.execute(
        update(pages_table).where(and_(c.id == page_id, c.status == PageStatus.open.value))
        .values(status=PageStatus.acknowledged.value, acked_by=actor, acked_at=now))
    if moved.rowcount != 1:
        return None
    await _event(conn, page_id, "acknowledged", None, now, actor=actor)
    await cancel_for_page(conn=conn, page_id=page_id)
    return await get_page(conn=conn, page_id=page_id)


async def get_page(*, conn: AsyncConnection, page_id: int) -> Page | None:
    row = (await conn.execute(select(pages_table).where(pages_table.c.id == page_id))
           ).mappings().first()
    return Page.model_validate(dict(row)) if row else None


async def page_events(*, conn: AsyncConnection, page_id: int) -> list[PageEvent]:
    rows = (await conn.execute(select(page_events_table)
                               .where(page_events_table.c.page_id == page_id)
                               .order_by(page_events_table.c.seq))).mappings().all()
    return [PageEvent.model_validate(dict(r)) for r in rows]


async def list_pages(*, engine: AsyncEngine, status: str | None = None, limit: int = 100
                     ) -> list[Page]:
    query = select(pages_table).order_by(pages_table.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(pages_table.c.status == status)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [Page.model_validate(dict(r)) for r in rows]


@dataclass(frozen=True)
class OpenPageRow:
    id: int
    team: str
    category: str | None
    created_at: dt.datetime


async def open_pages(*, conn: AsyncConnection) -> list[OpenPageRow]:
    """The pages waiting for an acknowledgement (the columns the decision stage reads,
    for every batch: no plans, no validation)."""
    p = pages_table.c
    rows = (await conn.execute(select(p.id, p.team, p.category, p.created_at)
                               .where(p.status == PageStatus.open.value))).all()
    return [OpenPageRow(r.id, r.team, r.category, r.created_at) for r in rows]


async def page_status(*, conn: AsyncConnection, page_id: int) -> str | None:
    return (await conn.execute(select(pages_table.c.status).where(
        pages_table.c.id == page_id))).scalar()
