"""Half-open intervals of instants ([start, end)) and piecewise tracks: `merge`,
`subtract`, `intersect`, `clip`, `contains`, `fill`, `overlay`, `coalesce`, by table and
as properties over generated intervals (checked instant by instant on a minute grid)."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.schedule.intervals import (
    Interval,
    Piece,
    clip,
    coalesce,
    contains,
    fill,
    intersect,
    merge,
    overlay,
    subtract,
)

BASE = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # a Monday morning
GRID = 60  # minutes the generated intervals live in


def m(minute: float) -> dt.datetime:
    """The instant `minute` minutes after BASE."""
    return BASE + dt.timedelta(minutes=minute)


def span(start: float, end: float) -> Interval:
    return (m(start), m(end))


def spans(*pairs: tuple[float, float]) -> list[Interval]:
    return [span(s, e) for s, e in pairs]


def covered(intervals: list[Interval]) -> set[int]:
    """The grid minutes inside the intervals (intervals on whole minutes are constant on
    each [k, k+1), so this is their whole extent)."""
    return {k for k in range(-1, GRID + 1) if any(s <= m(k) < e for s, e in intervals)}


def well_formed(intervals: list[Interval]) -> bool:
    """Sorted, non-empty, and neither overlapping nor touching."""
    return (all(s < e for s, e in intervals)
            and all(a[1] < b[0] for a, b in pairwise(intervals)))


# --- tables ------------------------------------------------------------------------------

@pytest.mark.parametrize(("given_", "expected"), [
    ([], []),
    ([(0, 10)], [(0, 10)]),
    ([(20, 30), (0, 10)], [(0, 10), (20, 30)]),      # sorted
    ([(0, 10), (5, 15)], [(0, 15)]),                  # overlapping: joined
    ([(0, 10), (10, 20)], [(0, 20)]),                 # touching: joined, no seam
    ([(0, 30), (5, 10)], [(0, 30)]),                  # inside another: absorbed
    ([(5, 5), (7, 3)], []),                           # empty and backwards: dropped
    ([(0, 10), (10, 10), (20, 25)], [(0, 10), (20, 25)]),
])
def test_merge(given_: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert merge(spans(*given_)) == spans(*expected)


@pytest.mark.parametrize(("base", "cut", "expected"), [
    ([(0, 60)], [], [(0, 60)]),
    ([(0, 60)], [(10, 20)], [(0, 10), (20, 60)]),             # a hole in the middle
    ([(0, 60)], [(0, 60)], []),                               # all of it
    ([(0, 60)], [(-10, 10), (50, 70)], [(10, 50)]),           # both ends trimmed
    ([(0, 60)], [(60, 70), (-10, 0)], [(0, 60)]),             # only touching: nothing
    ([(0, 10), (20, 30)], [(5, 25)], [(0, 5), (25, 30)]),     # one cut, two bases
    ([(0, 10), (20, 30), (40, 50)], [(8, 9), (22, 23), (45, 60)],
     [(0, 8), (9, 10), (20, 22), (23, 30), (40, 45)]),
])
def test_subtract(base: list[tuple[int, int]], cut: list[tuple[int, int]],
                  expected: list[tuple[int, int]]) -> None:
    assert subtract(spans(*base), spans(*cut)) == spans(*expected)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ([(0, 10)], [], []),
    ([(0, 10)], [(10, 20)], []),                              # touching is not overlapping
    ([(0, 10)], [(5, 20)], [(5, 10)]),
    ([(0, 60)], [(10, 20), (30, 40)], [(10, 20), (30, 40)]),
    ([(0, 15), (25, 40)], [(10, 30)], [(10, 15), (25, 30)]),
])
def test_intersect(a: list[tuple[int, int]], b: list[tuple[int, int]],
                   expected: list[tuple[int, int]]) -> None:
    assert intersect(spans(*a), spans(*b)) == spans(*expected)
    assert intersect(spans(*b), spans(*a)) == spans(*expected)


def test_clip_keeps_what_lies_in_the_window_and_cuts_the_rest() -> None:
    assert clip(spans((0, 10), (20, 30), (40, 50)), m(5), m(45)) == spans(
        (5, 10), (20, 30), (40, 45))
    # Touching the window's edges is not inside it.
    assert clip(spans((0, 10), (50, 60)), m(10), m(50)) == []


@pytest.mark.parametrize(("minute", "inside"), [
    (-1, False), (0, True), (9.99, True), (10, False),   # start-inclusive, end-exclusive
    (15, False), (20, True), (29, True), (30, False), (100, False),
])
def test_contains(minute: float, inside: bool) -> None:
    assert contains(spans((0, 10), (20, 30)), m(minute)) is inside


def test_contains_nothing_in_no_intervals() -> None:
    assert not contains([], BASE)


def test_fill_makes_a_track_over_the_whole_window() -> None:
    assert fill(spans((10, 20), (30, 40)), m(0), m(35), "working", "off") == [
        Piece(m(0), m(10), "off"), Piece(m(10), m(20), "working"),
        Piece(m(20), m(30), "off"), Piece(m(30), m(35), "working")]
    assert fill([], m(0), m(5), True, False) == [Piece(m(0), m(5), False)]
    assert fill(spans((0, 5)), m(0), m(5), True, False) == [Piece(m(0), m(5), True)]


def test_overlay_cuts_tracks_at_every_boundary() -> None:
    ana = fill(spans((0, 20)), m(0), m(30), "ana", None)
    beto = fill(spans((10, 30)), m(0), m(30), "beto", None)
    assert overlay([ana, beto], m(0), m(30)) == [
        (m(0), m(10), ("ana", None)), (m(10), m(20), ("ana", "beto")),
        (m(20), m(30), (None, "beto"))]


def test_overlay_of_no_tracks_is_one_empty_piece() -> None:
    assert overlay([], m(0), m(30)) == [(m(0), m(30), ())]


def test_coalesce_joins_adjacent_equal_pieces_only() -> None:
    pieces = [Piece(m(0), m(10), "ana"), Piece(m(10), m(20), "ana"),
              Piece(m(20), m(30), "beto"), Piece(m(35), m(40), "beto"),  # not adjacent
              Piece(m(40), m(50), "beto")]
    assert coalesce(pieces) == [Piece(m(0), m(20), "ana"), Piece(m(20), m(30), "beto"),
                                Piece(m(35), m(50), "beto")]
    assert coalesce([]) == []


# --- properties --------------------------------------------------------------------------

raw_intervals = st.lists(
    st.tuples(st.integers(0, GRID), st.integers(0, GRID)).map(lambda p: span(*p)),
    max_size=8)
merged_intervals = raw_intervals.map(merge)
# Non-empty windows: callers never clip to an empty one (`clip` would keep a zero-length
# piece of an interval around it).
windows = st.tuples(st.integers(0, GRID - 1), st.integers(1, GRID)).map(
    lambda p: sorted(p) if p[0] != p[1] else [p[0], p[1] + 1])
PROPERTY = settings(max_examples=100, deadline=None)


@PROPERTY
@given(raw_intervals)
def test_merge_is_well_formed_idempotent_and_covers_the_same_instants(
        intervals: list[Interval]) -> None:
    merged = merge(intervals)
    assert well_formed(merged)
    assert merge(merged) == merged
    assert covered(merged) == covered(intervals)
    assert merge(reversed(intervals)) == merged


@PROPERTY
@given(merged_intervals, merged_intervals)
def test_subtract_removes_exactly_the_cut(a: list[Interval], b: list[Interval]) -> None:
    rest = subtract(a, b)
    assert well_formed(rest)
    assert covered(rest) == covered(a) - covered(b)
    # What was cut away and what is left make up the base again.
    assert merge([*rest, *intersect(a, b)]) == a


@PROPERTY
@given(merged_intervals, merged_intervals)
def test_intersect_is_commutative_and_keeps_what_both_cover(
        a: list[Interval], b: list[Interval]) -> None:
    both = intersect(a, b)
    assert both == intersect(b, a)
    assert covered(both) == covered(a) & covered(b)
    assert all(s < e for s, e in both)
    assert all(x[1] <= y[0] for x, y in pairwise(both))


@PROPERTY
@given(merged_intervals, windows)
def test_clip_keeps_the_instants_inside_the_window(intervals: list[Interval],
                                                   window: list[int]) -> None:
    start, end = m(window[0]), m(window[1])
    clipped = clip(intervals, start, end)
    assert covered(clipped) == {k for k in covered(intervals) if window[0] <= k < window[1]}
    assert all(start <= s < e <= end for s, e in clipped)


@PROPERTY
@given(merged_intervals, st.integers(-1, GRID + 1))
def test_contains_agrees_with_the_intervals(merged: list[Interval], minute: int) -> None:
    assert contains(merged, m(minute)) is (minute in covered(merged))
    assert contains(merged, m(minute + 0.5)) is (minute in covered(merged))


@PROPERTY
@given(merged_intervals, windows)
def test_fill_covers_the_window_exactly(merged: list[Interval], window: list[int]) -> None:
    start, end = m(window[0]), m(window[1])
    track = fill(merged, start, end, True, False)
    assert track[0].start == start and track[-1].end == end
    assert all(p.start < p.end for p in track)
    assert all(a.end == b.start and a.value != b.value for a, b in pairwise(track))
    assert all(p.value is contains(merged, p.start) for p in track)


@PROPERTY
@given(st.lists(merged_intervals, min_size=1, max_size=3), windows)
def test_overlay_reads_every_track_at_every_instant(tracks_of: list[list[Interval]],
                                                    window: list[int]) -> None:
    start, end = m(window[0]), m(window[1])
    tracks = [fill(t, start, end, n, -1) for n, t in enumerate(tracks_of)]
    cut = overlay(tracks, start, end)
    assert [(s, e) for s, e, _ in cut] == list(pairwise(sorted(
        {start, end, *(p.start for t in tracks for p in t)})))
    for s, _, values in cut:
        assert values == tuple(n if contains(t, s) else -1 for n, t in enumerate(tracks_of))


@PROPERTY
@given(st.lists(st.tuples(st.integers(1, 10), st.sampled_from("ab")), max_size=10))
def test_coalesce_keeps_every_value_and_leaves_no_equal_neighbours(
        lengths: list[tuple[int, str]]) -> None:
    pieces: list[Piece[str]] = []
    cursor = 0
    for length, value in lengths:
        pieces.append(Piece(m(cursor), m(cursor + length), value))
        cursor += length
    joined = coalesce(pieces)
    assert all(a.value != b.value for a, b in pairwise(joined))
    assert all(a.end == b.start for a, b in pairwise(joined))

    def value_at(track: list[Piece[str]], minute: int) -> str:
        return next(p.value for p in track if p.start <= m(minute) < p.end)

    assert all(value_at(joined, k) == value_at(pieces, k) for k in range(cursor))
