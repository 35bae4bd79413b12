"""The decision stage's memory: decisions of the recent past, as storm, duplicate and
flood detection read them, refreshed from the database before every batch (and by a job of
its own between batches, so that it ages and stays current when the stage is idle)."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.decide import Recent, StormCount, StormTally
from guardian.decide.inputs import ABUSIVE
from guardian.policy.harassment import Level
from guardian.policy.model import Policy
from guardian.storage import messages as stored
from guardian.storage.db import utcnow
from guardian.types import Stage

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
                                    policy.storm.early_window_minutes,
                                    policy.moderation.duplicate_window_minutes, 60))


# A decision as the memory keeps it: `Recent`'s fields in a plain tuple of strings and a
# datetime, which the garbage collector stops tracking (a dataclass it would walk at every
# full collection: an hour at 200 messages a second is 720,000 of them, 170 ms a pass).
_Row = tuple[str, str, Level, dt.datetime, str | None]


def _row(decision: dict[str, Any], level: str | None) -> _Row:
    return (decision["message"]["author"], decision["target"], cast(Level, level or "none"),
            dt.datetime.fromisoformat(decision["decided_at"]), decision.get("fingerprint"))


class DecisionMemory:
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
        self._early: StormTally | None = None  # the early window: abusive authors
        self._ageing: list[tuple[dt.datetime, int]] = []  # heap of (decided at, message id)
        self._storms: dict[int, str] = {}   # message id -> target, for storm starters
        self._after: int | None = None      # the highest stage_events id read
        self._gaps: dict[int, float] = {}   # ids below it not seen yet -> when noticed
        # The stage and the memory's own job both read; one at a time.
        self._reading = asyncio.Lock()

    async def read(self, conn: AsyncConnection, since: dt.datetime) -> int:
        """Learn what was decided since the last read, and forget what was decided before
        `since`; return how many decisions were learned."""
        async with self._reading:
            before = len(self._recent)
            if self._after is None:
                await self._first_read(conn, since)
            else:
                await self._read_new(conn)
            learned = len(self._recent) - before
            self._forget(since)
        return max(learned, 0)

    def all(self) -> list[Recent]:
        """Every decision remembered (for tests and diagnosis)."""
        return [Recent(*row) for row in self._recent.values()]

    def of_author(self, author: str) -> list[Recent]:
        return [Recent(*row) for row in self._by_author.get(author, {}).values()]

    def storm_targets(self, since: dt.datetime | None = None) -> set[str]:
        """The targets whose storm a remembered decision started (since `since`)."""
        return {target for ident, target in self._storms.items()
                if since is None or self._recent[ident][3] >= since}

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

    def early_count(self, target: str, author: str, now: dt.datetime, window_minutes: int,
                    pending: Iterable[Recent] = ()) -> StormCount:
        """The early storm window of `target` (authors of abusive messages) at `now`."""
        if self._early is None or self._early.window_minutes != window_minutes:
            self._early = StormTally(window_minutes, ABUSIVE)
            for row in sorted(self._recent.values(), key=lambda r: r[3]):
                self._early.add(Recent(*row))
        return self._early.count(target, author, now, pending)

    def messages_at(self, target: str, since: dt.datetime,
                    levels: frozenset[Level]) -> list[int]:
        """The ids of remembered messages of `levels` aimed at `target` since `since` (a
        storm's messages, when it starts: rare, so a walk over the window is fine)."""
        return [ident for ident, row in self._recent.items()
                if row[1] == target and row[2] in levels and row[3] >= since]

    def gaps(self) -> set[int]:
        """The `stage_events` ids still awaited (for tests and diagnosis)."""
        return set(self._gaps)

    async def _first_read(self, conn: AsyncConnection, since: dt.datetime) -> None:
        # The highest id and the gaps below it first, then the decisions: a completion that
        # commits in between is read twice (and kept once), one that commits later is read
        # as a gap.
        top = await stored.last_event_id(conn=conn)
        low = max(top - MAX_GAPS, 0)
        present = await stored.event_ids_between(conn=conn, low=low, top=top)
        now = self._clock()
        self._gaps = {i: now for i in range(low + 1, top + 1) if i not in present}
        self._after = top
        self._remember(await stored.decided_since(conn=conn,
                                                  since=since - dt.timedelta(hours=1)))

    async def _read_new(self, conn: AsyncConnection) -> None:
        after = self._after or 0
        # Every stage's events, so that an event of another stage is not taken for a gap.
        events: list[tuple[int, int, str]] = []
        while True:
            page = await stored.events_after(conn=conn, after=after, limit=READ_PAGE)
            events += page
            if len(page) < READ_PAGE:
                break
            after = page[-1][0]
        after = self._after or 0
        if self._gaps:
            events += await stored.events_by_id(conn=conn, ids=list(self._gaps))
        events.sort(key=lambda row: row[0])
        decided = sorted({row[1] for row in events if row[2] == Stage.decided.value})
        decisions = await stored.decisions_of(conn=conn, ids=decided) if decided else {}
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
            if self._tally is not None or self._early is not None:
                recent = Recent(*row)
                if self._tally is not None:
                    self._tally.add(recent)
                if self._early is not None:
                    self._early.add(recent)
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


@dataclass
class MemoryRefresh:
    """The memory's job: read what other workers decided, and forget what left the window,
    between the decision stage's batches (each batch reads too, so none decides on a stale
    memory)."""

    engine: AsyncEngine
    memory: DecisionMemory
    policy: Callable[[], Policy | None]
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    name: ClassVar[str] = "decision-memory"

    async def run_once(self) -> int:
        policy = self.policy()
        if policy is None:
            return 0
        async with self.engine.connect() as conn:
            return await self.memory.read(conn, self.clock() - window_for(policy))
