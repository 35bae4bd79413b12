"""Overrides: the value, its validation, and how several compose."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from guardian.schedule.overrides import Override, apply_overrides, compose

T0 = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def override(id: int, kind: str, person: str, replaces: str | None = None,
             start: dt.datetime = T0, end: dt.datetime = T0 + 8 * HOUR,
             **extra: Any) -> Override:
    return Override.model_validate({"id": id, "kind": kind, "person": person,
                                    "replaces": replaces, "start": start, "end": end,
                                    "reason": "test", **extra})


def test_the_reference_composition() -> None:
    # From {A, B, C}: add D, replace A by E, remove B gives {C, D, E}.
    result = compose({"a", "b", "c"}, [override(1, "add", "d"),
                                       override(2, "replace", "e", replaces="a"),
                                       override(3, "remove", "b")])
    assert result.people == {"c", "d", "e"}
    assert [o.id for o in result.applied] == [2, 1, 3]  # replace, add, remove passes


@pytest.mark.parametrize(("overrides", "expected"), [
    # Removal wins over an add of the same person, in either order of the list.
    ([override(1, "add", "d"), override(2, "remove", "d")], {"a"}),
    ([override(2, "remove", "d"), override(1, "add", "d")], {"a"}),
    # ...and over a replacement naming them.
    ([override(1, "replace", "d", replaces="a"), override(2, "remove", "d")], set()),
    # Replacing someone not on duty changes nothing.
    ([override(1, "replace", "d", replaces="z")], {"a"}),
    # Two replacements of one person: the earlier start wins, then the lower id.
    ([override(2, "replace", "e", replaces="a", start=T0 - HOUR),
      override(1, "replace", "d", replaces="a")], {"e"}),
    ([override(2, "replace", "e", replaces="a"),
      override(1, "replace", "d", replaces="a")], {"d"}),
    # Chains of replacements follow that order: a -> d, then d -> e.
    ([override(1, "replace", "d", replaces="a"),
      override(2, "replace", "e", replaces="d")], {"e"}),
    # Removing someone who is not there is harmless.
    ([override(1, "remove", "z")], {"a"}),
])
def test_conflicting_overrides(overrides: list[Override], expected: set[str]) -> None:
    assert compose({"a"}, overrides).people == expected


def test_only_overrides_active_at_the_instant_apply_start_inclusive_end_exclusive() -> None:
    sick = override(1, "remove", "a", start=T0, end=T0 + HOUR)
    assert apply_overrides({"a"}, [sick], T0 - dt.timedelta(seconds=1)).people == {"a"}
    assert apply_overrides({"a"}, [sick], T0).people == set()
    assert apply_overrides({"a"}, [sick], T0 + HOUR).people == {"a"}
    # Who was on is still reported as a flagged empty set, not dropped.
    assert apply_overrides({"a"}, [sick], T0).applied == (sick,)


@pytest.mark.parametrize(("fields", "message"), [
    ({"kind": "replace"}, "`replaces` is needed"),
    ({"kind": "add", "replaces": "b"}, "`replaces` is needed"),
    ({"kind": "replace", "replaces": "a"}, "cannot replace themselves"),
    ({"end": T0}, "must end after it starts"),
    ({"start": dt.datetime(2026, 12, 1, 8)}, "timezone"),
    ({"kind": "swap"}, "kind"),
    ({"colour": "blue"}, "colour"),
])
def test_invalid_overrides_are_refused(fields: dict[str, Any], message: str) -> None:
    data = {"id": 1, "kind": "remove", "person": "a", "start": T0, "end": T0 + HOUR,
            **fields}
    with pytest.raises(ValidationError, match=message):
        Override.model_validate(data)


def test_overrides_are_immutable() -> None:
    sick = override(1, "remove", "a")
    with pytest.raises(ValidationError):
        sick.person = "b"  # type: ignore[misc]
