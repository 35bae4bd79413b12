"""Decisions of the recent past, as storm, duplicate and flood detection read them (the
decision stage's memory, refreshed from the database every batch)."""

from __future__ import annotations

import datetime as dt
import heapq
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.decide import Recent, StormCount, StormTally
from guardian.policy.harassment import Level
from guardian.policy.model import Policy
from guardian.storage.messages import events_table, messages_table
from guardian.storage.models import Stage

# A `stage_events` id below the highest one read but not seen yet belongs to a completion
# still in flight (an id is drawn when the row is inserted, not when it commits) or to one
# that rolled back. Every read asks for such ids again, for this long, and at most this
# many (the oldest are given up first).
GAP_SECONDS = 300.0
MAX_GAPS = 5_000
# Events read per statement.
READ_PAGE = 5_000


def window_for(policy: Policy) -> dt.timedelta:
    return dt.timedelta(minutes=max(policy.storm.window_minutes,
                                    policy.moderation.duplicate_window_minutes, 60))


# A decision as the memory keeps it: `Recent`'s fields in a plain tuple of strings and a
# datetime, which the garbage collector stops tracking (a dataclass it would walk at every
# full collection: an hour at 200 messages a second is 720,000 of them, 170 ms a pass).
_Row = tuple[str, str, Level, dt.datetime, str | None]


def _row(decision: dict[str, Any], level: str | None) -> _Row:
    return (decision["message"]["author"], decision["target"], cast(Level, level or "none"),
            dt.datetime.fromisoformat(decision["decided_at"]), decision.get("fingerprint"))


class RecentDecisions:
    """Decisions of the last window, as storm, duplicate and flood detection read them.

    Any worker may have decided them, so every batch asks the database what was decided
    since the previous batch: the `stage_events` rows after the highest id read so far (a
    range of the primary key, however long the window), joined to their decisions. An id
    below the highest read that has not been seen is a *gap*, a completion that may still
    commit: gaps are asked for by id at every read until they appear (or `GAP_SECONDS`
    pass, as for a completion that rolled back). Decisions older than the window are
    forgotten as they age out, so a read costs what was decided since the last one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._recent: dict[int, _Row] = {}   # by message id
        self._by_author: dict[str, dict[int, _Row]] = {}
        self._tally: StormTally | None = None
        self._ageing: list[tuple[dt.datetime, int]] = []  # heap of (decided at, message id)
        self._storms: dict[int, str] = {}   # message id -> target, for storm starters
        self._after: int | None = None      # the highest stage_events id read
        self._gaps: dict[int, float] = {}   # ids below it not seen yet -> when noticed

    async def read(self, conn: AsyncConnection, since: dt.datetime) -> None:
        """Learn what was decided since the last read, and forget what was decided before
        `since`."""
        if self._after is None:
            await self._first_read(conn, since)
        else:
            await self._read_new(conn)
        self._forget(since)

    def all(self) -> list[Recent]:
        """Every decision remembered (for tests and diagnosis)."""
        return [Recent(*row) for row in self._recent.values()]

    def of_author(self, author: str) -> list[Recent]:
        return [Recent(*row) for row in self._by_author.get(author, {}).values()]

    def storm_targets(self) -> set[str]:
        """The targets whose storm a remembered decision started."""
        return set(self._storms.values())

    def storm_count(self, target: str, author: str, now: dt.datetime, window_minutes: int,
                    pending: Iterable[Recent] = ()) -> StormCount:
        """The storm window of `target` at `now`, with `pending` decisions (not read from
        the database yet) counted too."""
        if self._tally is None or self._tally.window_minutes != window_minutes:
            # First use, or the policy changed the window: count again from what is here
            # (the memory holds at least the last hour, the longest default window).
            self._tally = StormTally(window_minutes)
            for row in sorted(self._recent.values(), key=lambda r: r[3]):
                self._tally.add(Recent(*row))
        return self._tally.count(target, author, now, pending)

    def gaps(self) -> set[int]:
        """The `stage_events` ids still awaited (for tests and diagnosis)."""
        return set(self._gaps)

    async def _first_read(self, conn: AsyncConnection, since: dt.datetime) -> None:
        e, m = events_table.c, messages_table.c
        # The highest id and the gaps below it first, then the decisions: a completion that
        # commits in between is read twice (and kept once), one that commits later is read
        # as a gap.
        top = (await conn.execute(select(func.max(e.id)))).scalar_one_or_none() or 0
        low = max(top - MAX_GAPS, 0)
        present = set((await conn.execute(
            select(e.id).where(and_(e.id > low, e.id <= top)))).scalars())
        now = self._clock()
        self._gaps = {i: now for i in range(low + 1, top + 1) if i not in present}
        self._after = top
        rows = (await conn.execute(
            select(m.id, m.decision, m.harassment_level)
            .where(m.decision.is_not(None), m.received_at >= since - dt.timedelta(hours=1))
            .order_by(m.id))).all()
        self._remember((r[0], r[1], r[2]) for r in rows)

    async def _read_new(self, conn: AsyncConnection) -> None:
        e, m = events_table.c, messages_table.c
        after = self._after or 0
        # Look-ups by primary key only, whatever the planner's statistics say: a join with
        # an OR, on tables growing by hundreds of rows a second, was planned as sequential
        # scans of both (17 ms a batch after 40 s at 200/s, and growing). Every stage's
        # events, so that an event of another stage is not taken for a gap.
        events: list[Any] = []
        while True:
            page = (await conn.execute(
                select(e.id, e.message_id, e.stage).where(e.id > after)
                .order_by(e.id).limit(READ_PAGE))).all()
            events += page
            if len(page) < READ_PAGE:
                break
            after = page[-1][0]
        after = self._after or 0
        if self._gaps:
            events += (await conn.execute(select(e.id, e.message_id, e.stage)
                                          .where(e.id.in_(list(self._gaps))))).all()
        events.sort(key=lambda row: row[0])
        decided = sorted({row[1] for row in events if row[2] == Stage.decided.value})
        decisions = {}
        if decided:
            decisions = {r[0]: (r[1], r[2]) for r in (await conn.execute(
                select(m.id, m.decision, m.harassment_level).where(m.id.in_(decided)))).all()}
        rows: list[tuple[Any, ...]] = []   # event id, message id, decision, level
        for ident, message_id, stage in events:
            decision, level = (decisions.get(message_id, (None, None))
                               if stage == Stage.decided.value else (None, None))
            rows.append((ident, message_id, decision, level))
        now = self._clock()
        read = set()
        for row in rows:
            read.add(row[0])
            self._gaps.pop(row[0], None)
        top = max(after, rows[-1][0]) if rows else after
        self._gaps.update((i, now) for i in range(after + 1, top) if i not in read)
        self._after = top
        # Oldest first (noticed in order): give up those that never came.
        for ident, noticed in list(self._gaps.items()):
            if now - noticed <= GAP_SECONDS and len(self._gaps) <= MAX_GAPS:
                break
            del self._gaps[ident]
        self._remember((r[1], r[2], r[3]) for r in rows if r[2] is not None)

    def _remember(self, rows: Iterable[tuple[int, dict[str, Any], str | None]]) -> None:
        for ident, decision, level in rows:
            if ident in self._recent:
                continue
            row = self._recent[ident] = _row(decision, level)
            self._by_author.setdefault(row[0], {})[ident] = row
            if self._tally is not None:
                self._tally.add(Recent(*row))
            heapq.heappush(self._ageing, (row[3], ident))
            storm = decision.get("storm") or {}
            if storm.get("first"):
                self._storms[ident] = storm["target"]

    def _forget(self, since: dt.datetime) -> None:
        while self._ageing and self._ageing[0][0] < since:
            _, ident = heapq.heappop(self._ageing)
            author = self._recent.pop(ident)[0]
            mine = self._by_author[author]
            del mine[ident]
            if not mine:
                del self._by_author[author]
            self._storms.pop(ident, None)
