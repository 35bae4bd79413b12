"""One layer of a rotation: turns of a fixed wall-clock length, members in order.

Turn k starts at the wall-clock time `start + hand_off + k * shift` in the rotation's zone
(resolved by `localtime.resolve`), so hand-offs stay at the same local time across DST:
a daily 08:00 hand-off is 08:00 all year; the turn that spans a spring-forward night is an
hour shorter and the one spanning fall-back an hour longer (a "24-hour" shift lasts 25).
A hand-off inside a skipped hour happens when the clock resumes (02:30 -> 03:00). When two
hand-offs resolve to one instant (hourly turns over a skipped hour) the turn between them
is empty and dropped: its member misses that turn. Turn k belongs to `members[k % n]`.
Before the first hand-off the layer has no one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from guardian.policy.model import Layer
from guardian.schedule.intervals import Piece, coalesce, fill, overlay
from guardian.schedule.localtime import require_aware, resolve, to_local
from guardian.schedule.windows import in_windows, window_intervals


@dataclass(frozen=True, slots=True)
class Turn:
    index: int  # k: the k-th turn since the layer's start
    start: dt.datetime
    end: dt.datetime
    person: str


def _anchor(layer: Layer) -> dt.datetime:
    return dt.datetime.combine(layer.start, layer.hand_off)


def _hand_off(layer: Layer, tz: ZoneInfo, index: int) -> dt.datetime:
    return resolve(_anchor(layer) + index * layer.shift, tz)


def _turn(layer: Layer, tz: ZoneInfo, index: int) -> Turn:
    return Turn(index, _hand_off(layer, tz, index), _hand_off(layer, tz, index + 1),
                layer.members[index % len(layer.members)])


def turn_at(layer: Layer, tz: ZoneInfo, at: dt.datetime) -> Turn | None:
    """The turn under way at `at`, ignoring restrictions; None before the first hand-off."""
    require_aware(at, "at")
    if at < _hand_off(layer, tz, 0):
        return None
    # Estimate from the wall clock. `resolve` is non-decreasing and resolve(wall(at)) <= at,
    # so the estimate's hand-off is never after `at`; it can be a turn early (a repeated
    # hour, an empty turn), which stepping forward fixes.
    index = max(0, (to_local(at, tz) - _anchor(layer)) // layer.shift)
    while _hand_off(layer, tz, index + 1) <= at:
        index += 1
    return _turn(layer, tz, index)


def turns(layer: Layer, tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[Turn]:
    """Non-empty turns overlapping [start, end), in order, not clipped."""
    require_aware(start, "start")
    require_aware(end, "end")
    first = turn_at(layer, tz, max(start, _hand_off(layer, tz, 0)))
    if first is None or first.start >= end:
        return []
    result: list[Turn] = []
    index = first.index
    while True:
        turn = _turn(layer, tz, index)
        if turn.start >= end:
            return result
        if turn.start < turn.end:
            result.append(turn)
        index += 1


def layer_at(layer: Layer, tz: ZoneInfo, at: dt.datetime) -> str | None:
    """Who this layer has at `at`, restrictions honoured; None is a gap in the layer."""
    turn = turn_at(layer, tz, at)
    if turn is None:
        return None
    if layer.restrictions is not None and not in_windows(layer.restrictions, tz, at):
        return None
    return turn.person


def layer_pieces(layer: Layer, tz: ZoneInfo, start: dt.datetime, end: dt.datetime
                 ) -> list[Piece[str | None]]:
    """Who this layer has over [start, end): contiguous pieces, None where it has no one."""
    track: list[Piece[str | None]] = []
    cursor = start
    for turn in turns(layer, tz, start, end):
        s, e = max(turn.start, start), min(turn.end, end)
        if s > cursor:
            track.append(Piece(cursor, s, None))
        track.append(Piece(s, e, turn.person))
        cursor = e
    if cursor < end:
        track.append(Piece(cursor, end, None))
    if layer.restrictions is None:
        return coalesce(track)
    allowed = fill(window_intervals(layer.restrictions, tz, start, end), start, end,
                   True, False)
    return coalesce(Piece(s, e, person if ok else None)
                    for s, e, (person, ok) in overlay([track, allowed], start, end))
