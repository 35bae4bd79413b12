"""A rotation's layers: the highest-priority layer that has someone at an instant wins;
where it has no one the next layer shows through; where no layer has anyone the rotation
reports a gap (never hidden)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from guardian.policy.model import Layer, Rotation
from guardian.schedule.intervals import Piece, coalesce, overlay
from guardian.schedule.localtime import require_aware, zone
from guardian.schedule.rotation import layer_at, layer_pieces


@dataclass(frozen=True, slots=True)
class OnRotation:
    person: str | None  # None: a gap, no layer has anyone
    layer: str | None   # the layer that supplied the person

    @property
    def gap(self) -> bool:
        return self.person is None


GAP = OnRotation(None, None)


def _by_priority(rotation: Rotation) -> list[Layer]:
    return sorted(rotation.layers, key=lambda layer: -layer.priority)


def rotation_at(rotation: Rotation, at: dt.datetime) -> OnRotation:
    require_aware(at, "at")
    tz = zone(rotation.timezone)
    for layer in _by_priority(rotation):
        person = layer_at(layer, tz, at)
        if person is not None:
            return OnRotation(person, layer.name)
    return GAP


def rotation_pieces(rotation: Rotation, start: dt.datetime, end: dt.datetime
                    ) -> list[Piece[OnRotation]]:
    """Contiguous pieces covering [start, end); gaps are pieces with `GAP`."""
    require_aware(start, "start")
    require_aware(end, "end")
    if start >= end:
        return []
    tz = zone(rotation.timezone)
    layers = _by_priority(rotation)
    tracks = [layer_pieces(layer, tz, start, end) for layer in layers]
    pieces: list[Piece[OnRotation]] = []
    for s, e, people in overlay(tracks, start, end):
        winner = next(((p, layer.name) for p, layer in zip(people, layers, strict=True)
                       if p is not None), None)
        pieces.append(Piece(s, e, OnRotation(*winner) if winner else GAP))
    return coalesce(pieces)
