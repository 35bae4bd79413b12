"""Half-open intervals of instants, and piecewise-constant tracks built from them."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Interval = tuple[dt.datetime, dt.datetime]  # [start, end)


@dataclass(frozen=True, slots=True)
class Piece(Generic[T]):
    start: dt.datetime
    end: dt.datetime
    value: T


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-empty, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(base: Sequence[Interval], cut: Sequence[Interval]) -> list[Interval]:
    """`base` minus `cut`; both merged (sorted, disjoint)."""
    result: list[Interval] = []
    j = 0
    for start, end in base:
        while j < len(cut) and cut[j][1] <= start:
            j += 1
        k = j
        while k < len(cut) and cut[k][0] < end:
            if cut[k][0] > start:
                result.append((start, cut[k][0]))
            start = max(start, cut[k][1])
            k += 1
        if start < end:
            result.append((start, end))
    return result


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Where both hold; both merged (sorted, disjoint)."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return result


def clip(intervals: Sequence[Interval], start: dt.datetime, end: dt.datetime
         ) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


def contains(merged: Sequence[Interval], instant: dt.datetime) -> bool:
    i = bisect_right(merged, (instant, dt.datetime.max.replace(tzinfo=dt.UTC))) - 1
    return i >= 0 and merged[i][0] <= instant < merged[i][1]


def fill(merged: Sequence[Interval], start: dt.datetime, end: dt.datetime,
         inside: T, outside: T) -> list[Piece[T]]:
    """A track over [start, end): `inside` on the intervals, `outside` between them."""
    pieces: list[Piece[T]] = []
    cursor = start
    for s, e in clip(merged, start, end):
        if s > cursor:
            pieces.append(Piece(cursor, s, outside))
        pieces.append(Piece(s, e, inside))
        cursor = e
    if cursor < end:
        pieces.append(Piece(cursor, end, outside))
    return pieces


def overlay(tracks: Sequence[Sequence[Piece[Any]]], start: dt.datetime, end: dt.datetime
            ) -> list[tuple[dt.datetime, dt.datetime, tuple[Any, ...]]]:
    """Tracks that each cover [start, end) exactly, cut at every boundary of any of them:
    (start, end, the value of each track there)."""
    bounds = sorted({start, end, *(p.start for t in tracks for p in t),
                     *(p.end for t in tracks for p in t)})
    bounds = [b for b in bounds if start <= b <= end]
    cursors = [0] * len(tracks)
    result: list[tuple[dt.datetime, dt.datetime, tuple[Any, ...]]] = []
    for left, right in pairwise(bounds):
        values = []
        for n, track in enumerate(tracks):
            while track[cursors[n]].end <= left:
                cursors[n] += 1
            values.append(track[cursors[n]].value)
        result.append((left, right, tuple(values)))
    return result


def coalesce(pieces: Iterable[Piece[T]]) -> list[Piece[T]]:
    """Adjacent pieces with equal values joined into one."""
    result: list[Piece[T]] = []
    for piece in pieces:
        if result and result[-1].value == piece.value and result[-1].end == piece.start:
            result[-1] = Piece(result[-1].start, piece.end, piece.value)
        else:
            result.append(piece)
    return result
