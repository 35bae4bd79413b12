"""Storm (pile-on) detection: pure functions over recent messages.

A target (a person or a team) is in a storm at `now` when, among the messages aimed at it
in the window (now - W, now], either

- at least `distinct_authors` different authors sent hostile ones (rude or worse), or
- at least `abusive_messages` were abusive or threats,

or when, in the shorter early window (now - E, now], at least `early_authors` different
authors sent abusive ones or threats: a pile-on is caught from its first few messages
(three accounts insulting the street sweeper within ten minutes, by default), before it
has reached her ten times.

Polite messages do not count: twenty neighbours reporting the same dark street is not a
pile-on. The thresholds are the policy's `storm` section.

Two ways to count a window: `count_window` goes through a list of recent messages (the
simulator's and the tests' way), `StormTally` keeps sliding counts per target as messages
come, so that a decision costs the same however busy the window is (the decision stage's
way: at 200 messages a second an hour's window holds 720,000).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from guardian.decide.inputs import ABUSIVE, HOSTILE, Recent, StormCount
from guardian.policy.harassment import Level
from guardian.policy.model import StormThresholds


@dataclass(frozen=True, slots=True)
class Storm:
    target: str
    distinct_authors: int   # authors of hostile messages in the window
    abusive_messages: int   # abusive or threatening messages in the window
    since: dt.datetime      # the earliest hostile message in the window
    window_minutes: int
    early: bool = False     # set off by the early window (its authors and minutes)


def count_window(items: Iterable[Recent], target: str, author: str, window_minutes: int,
                 now: dt.datetime, levels: frozenset[Level] = HOSTILE) -> StormCount:
    """The window of `target` at `now` among `items`, counting messages of `levels`;
    `author` is the one about to add a message (is that author already counted?)."""
    start = now - dt.timedelta(minutes=window_minutes)
    authors: set[str] = set()
    abusive = 0
    since: dt.datetime | None = None
    for item in items:
        if item.target != target or item.level not in levels or not start < item.at <= now:
            continue
        authors.add(item.author)
        abusive += item.level in ABUSIVE
        since = item.at if since is None or item.at < since else since
    return StormCount(target, len(authors), abusive, since, author in authors, levels)


def storm_of(count: StormCount, thresholds: StormThresholds,
             early: StormCount | None = None) -> Storm | None:
    """The storm a window (and its early window) holds under the thresholds, or None."""
    if count.since is not None and (count.distinct_authors >= thresholds.distinct_authors
                                    or count.abusive_messages >= thresholds.abusive_messages):
        return Storm(count.target, count.distinct_authors, count.abusive_messages,
                     count.since, thresholds.window_minutes)
    if (early is not None and early.since is not None
            and early.distinct_authors >= thresholds.early_authors):
        return Storm(early.target, early.distinct_authors, early.abusive_messages,
                     early.since, thresholds.early_window_minutes, early=True)
    return None


def storm_at(items: Iterable[Recent], target: str, thresholds: StormThresholds,
             now: dt.datetime) -> Storm | None:
    """The storm on `target` at `now`, or None."""
    listed = list(items)
    return storm_of(count_window(listed, target, "", thresholds.window_minutes, now),
                    thresholds,
                    count_window(listed, target, "", thresholds.early_window_minutes, now,
                                 ABUSIVE))


def storms(items: Iterable[Recent], thresholds: StormThresholds, now: dt.datetime
           ) -> dict[str, Storm]:
    """Every target in a storm at `now` (for reports and the moderators' page)."""
    listed = list(items)
    found = {}
    for target in {item.target for item in listed}:
        storm = storm_at(listed, target, thresholds, now)
        if storm is not None:
            found[target] = storm
    return found


@dataclass(slots=True)
class _Window:
    hostile: list[tuple[dt.datetime, int, str, bool]] = field(default_factory=list)  # heap
    authors: Counter[str] = field(default_factory=Counter)
    abusive: int = 0


class StormTally:
    """Every target's storm window as sliding counts: the hostile messages in a heap by
    time, their authors in a counter. Adding a message and counting a window cost the
    same however many messages the window holds; a message leaves it once, when it ages
    out.

    Windows only move forward: a message at or before the start of the latest window
    counted is not taken (it could never count again). One difference from
    `count_window`: a message dated after the instant counted is counted (another worker,
    whose clock read a few milliseconds later, decided it before this one).
    """

    def __init__(self, window_minutes: int, levels: frozenset[Level] = HOSTILE) -> None:
        self.window_minutes = window_minutes
        self.levels = levels
        self._window = dt.timedelta(minutes=window_minutes)
        self._targets: dict[str, _Window] = {}
        self._start: dt.datetime | None = None
        self._order = itertools.count()   # ties in time keep their order of arrival

    def add(self, item: Recent) -> None:
        if item.level not in self.levels or (self._start is not None
                                             and item.at <= self._start):
            return
        window = self._targets.setdefault(item.target, _Window())
        abusive = item.level in ABUSIVE
        heapq.heappush(window.hostile, (item.at, next(self._order), item.author, abusive))
        window.authors[item.author] += 1
        window.abusive += abusive

    def count(self, target: str, author: str, now: dt.datetime,
              pending: Iterable[Recent] = ()) -> StormCount:
        """The window of `target` at `now`, with `pending` (messages decided but not added
        yet, such as the earlier ones of a batch) counted too."""
        self.expire(now)
        start = self._start
        window = self._targets.get(target) or _Window()
        since = window.hostile[0][0] if window.hostile else None
        abusive = window.abusive
        extra: set[str] = set()
        for item in pending:
            if (item.target != target or item.level not in self.levels
                    or (start is not None and item.at <= start)):
                continue
            if item.author not in window.authors:
                extra.add(item.author)
            abusive += item.level in ABUSIVE
            since = item.at if since is None or item.at < since else since
        return StormCount(target, len(window.authors) + len(extra), abusive, since,
                          author in window.authors or author in extra, self.levels)

    def expire(self, now: dt.datetime) -> None:
        """Let go of every message at or before the start of the window at `now`."""
        start = now - self._window
        if self._start is not None and start <= self._start:
            return
        self._start = start
        for target, window in list(self._targets.items()):
            heap = window.hostile
            while heap and heap[0][0] <= start:
                _, _, author, abusive = heapq.heappop(heap)
                window.abusive -= abusive
                window.authors[author] -= 1
                if not window.authors[author]:
                    del window.authors[author]
            if not heap:
                del self._targets[target]
