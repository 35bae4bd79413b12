"""Overrides (sick leave, swaps, extra help): pure composition over a set of people.

An override is active on [start, end). The active overrides of a team's set apply in
three passes, so the result does not depend on how the list is ordered:

1. `replace` (A by E), in (start, id) order: if A is in the set, A leaves and E joins;
   if A is not (not on shift, or an earlier replacement took them), nothing happens. Of two
   replacements of the same person, the earlier (start, then id) wins.
2. `add` D: D joins.
3. `remove` B: B leaves. Removal wins over everything: someone on sick leave stays off
   even if another override adds them or names them as a replacement.

From {A, B, C}: add D, replace A by E, remove B gives {C, D, E}. Adds commute with each
other, removes with each other, and the result is the same for any order of the list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from guardian.policy.model import Slug
from guardian.schedule.localtime import require_aware

OverrideKind = Literal["replace", "add", "remove"]
Role = Literal["duty", "on_call"]
AppliesTo = Literal["duty", "on_call", "both"]
_PASS = {"replace": 0, "add": 1, "remove": 2}


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int = Field(ge=0)  # breaks ties between equal starts: lower first
    kind: OverrideKind
    person: Slug                  # who joins (add, replace) or leaves (remove)
    replaces: Slug | None = None  # only for replace: who leaves
    start: AwareDatetime
    end: AwareDatetime
    reason: str = ""
    team: Slug | None = None      # None: every team the person's sets appear in
    applies_to: AppliesTo = "both"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.start >= self.end:
            raise ValueError("an override must end after it starts")
        if (self.kind == "replace") != (self.replaces is not None):
            raise ValueError("`replaces` is needed for kind replace, and only then")
        if self.replaces == self.person:
            raise ValueError("a person cannot replace themselves")
        return self

    def active(self, at: dt.datetime) -> bool:
        return self.start <= at < self.end

    def concerns(self, team: str, role: Role) -> bool:
        return self.team in (None, team) and self.applies_to in (role, "both")

    def order(self) -> tuple[int, dt.datetime, int]:
        return _PASS[self.kind], self.start, self.id


@dataclass(frozen=True, slots=True)
class Applied:
    people: frozenset[str]
    applied: tuple[Override, ...]  # those that changed something, in the order applied


def compose(people: Iterable[str], active: Iterable[Override]) -> Applied:
    """Apply overrides already known to be active (any order) to a set of people."""
    result = set(people)
    applied: list[Override] = []
    for override in sorted(active, key=Override.order):
        before = frozenset(result)
        if override.kind == "replace":
            if override.replaces in result:
                result.discard(override.replaces)
                result.add(override.person)
        elif override.kind == "add":
            result.add(override.person)
        else:
            result.discard(override.person)
        if result != before:
            applied.append(override)
    return Applied(frozenset(result), tuple(applied))


def active_at(overrides: Iterable[Override], at: dt.datetime) -> list[Override]:
    require_aware(at, "at")
    return [o for o in overrides if o.active(at)]


def apply_overrides(people: Iterable[str], overrides: Iterable[Override],
                    at: dt.datetime) -> Applied:
    """The set at `at` after the overrides active then (see the module's rule)."""
    return compose(people, active_at(overrides, at))


def concerning(overrides: Sequence[Override], team: str, role: Role) -> list[Override]:
    return [o for o in overrides if o.concerns(team, role)]
