"""Who is on duty and who is on call for a team, at an instant or as shifts.

- On duty: the people of the team's `duty` rotation if it has one; otherwise the members
  who are working (working hours, minus holidays and quiet hours).
- On call: the people of the team's `on_call` rotation; no rotation, no one.
Overrides then apply (see `overrides`). An empty set is a gap: reported, never hidden.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from guardian.policy.model import Policy, Team
from guardian.schedule.intervals import Piece, coalesce, fill, overlay
from guardian.schedule.layers import OnRotation, rotation_at, rotation_pieces
from guardian.schedule.localtime import require_aware
from guardian.schedule.overrides import Override, Role, compose, concerning
from guardian.schedule.people import is_working, working_intervals

SourceKind = Literal["rotation", "working_hours", "override"]
ROLES: tuple[Role, ...] = ("duty", "on_call")


@dataclass(frozen=True, slots=True)
class Source:
    """Why someone is (or no one is) there: `rotation` (ref "rotation-id/layer", or just
    the rotation id in a gap), `working_hours` (ref: the team id), `override` (ref: its id)."""

    kind: SourceKind
    ref: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass(frozen=True, slots=True)
class Duty:
    """A team's people in one role at an instant."""

    people: frozenset[str]
    sources: tuple[Source, ...]

    @property
    def gap(self) -> bool:
        return not self.people


@dataclass(frozen=True, slots=True)
class Shift:
    """[start, end) during which a team's people in one role do not change."""

    start: dt.datetime
    end: dt.datetime
    people: frozenset[str]
    sources: tuple[Source, ...]

    @property
    def gap(self) -> bool:
        return not self.people


def _team(policy: Policy, team_id: str) -> Team:
    try:
        return policy.team_index[team_id]
    except KeyError:
        raise KeyError(f"no team `{team_id}` in the policy") from None


def _rotation_id(team: Team, role: Role) -> str | None:
    return team.duty if role == "duty" else team.on_call


def _from_rotation(rotation_id: str, on: OnRotation) -> Duty:
    if on.person is None:
        return Duty(frozenset(), (Source("rotation", rotation_id),))
    return Duty(frozenset({on.person}), (Source("rotation", f"{rotation_id}/{on.layer}"),))


def _with_overrides(base: Duty, active: Sequence[Override]) -> Duty:
    if not active:
        return base
    result = compose(base.people, active)
    return Duty(result.people,
                base.sources + tuple(Source("override", str(o.id)) for o in result.applied))


def _base_at(policy: Policy, team: Team, role: Role, at: dt.datetime) -> Duty:
    rotation_id = _rotation_id(team, role)
    if rotation_id is not None:
        return _from_rotation(rotation_id, rotation_at(policy.rotation_index[rotation_id], at))
    if role == "on_call":
        return Duty(frozenset(), ())
    return Duty(frozenset(m for m in team.members if is_working(policy, m, at)),
                (Source("working_hours", team.id),))


def duty_at(policy: Policy, team_id: str, role: Role, at: dt.datetime,
            overrides: Sequence[Override] = ()) -> Duty:
    require_aware(at, "at")
    team = _team(policy, team_id)
    active = [o for o in concerning(overrides, team.id, role) if o.active(at)]
    return _with_overrides(_base_at(policy, team, role, at), active)


def on_duty(policy: Policy, team_id: str, at: dt.datetime,
            overrides: Sequence[Override] = ()) -> Duty:
    return duty_at(policy, team_id, "duty", at, overrides)


def on_call(policy: Policy, team_id: str, at: dt.datetime,
            overrides: Sequence[Override] = ()) -> Duty:
    return duty_at(policy, team_id, "on_call", at, overrides)


def _base_pieces(policy: Policy, team: Team, role: Role, start: dt.datetime,
                 end: dt.datetime) -> list[Piece[Duty]]:
    rotation_id = _rotation_id(team, role)
    if rotation_id is not None:
        rotation = policy.rotation_index[rotation_id]
        return [Piece(p.start, p.end, _from_rotation(rotation_id, p.value))
                for p in rotation_pieces(rotation, start, end)]
    if role == "on_call":
        return [Piece(start, end, Duty(frozenset(), ()))]
    members = list(dict.fromkeys(team.members))
    tracks = [fill(working_intervals(policy, m, start, end), start, end, True, False)
              for m in members]
    source = (Source("working_hours", team.id),)
    return [Piece(s, e, Duty(frozenset(m for m, w in zip(members, working, strict=True) if w),
                             source))
            for s, e, working in overlay(tracks, start, end)]


def team_shifts(policy: Policy, team_id: str, start: dt.datetime, end: dt.datetime, *,
                role: Role = "duty", overrides: Sequence[Override] = ()) -> list[Shift]:
    """The team's shifts in one role over [start, end): contiguous, no overlap, no holes;
    periods with no one are shifts with no people (`gap`). Cut at `start` and `end`."""
    require_aware(start, "start")
    require_aware(end, "end")
    if start >= end:
        return []
    team = _team(policy, team_id)
    relevant = [o for o in concerning(overrides, team.id, role)
                if o.start < end and o.end > start]
    base = _base_pieces(policy, team, role, start, end)
    if relevant:
        bounds = sorted({start, end, *(o.start for o in relevant if start < o.start < end),
                         *(o.end for o in relevant if start < o.end < end)})
        marks: list[Piece[tuple[Override, ...]]] = [
            Piece(s, e, tuple(o for o in relevant if o.active(s)))
            for s, e in pairwise(bounds)]
        base = [Piece(s, e, _with_overrides(duty, active))
                for s, e, (duty, active) in overlay([base, marks], start, end)]
    return [Shift(p.start, p.end, p.value.people, p.value.sources) for p in coalesce(base)]
