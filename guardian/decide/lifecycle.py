"""A citizen's request from its receipt to its end, and what the citizen may hear of it.

`received → acknowledged → in progress → resolved`, or `closed` with a reason at any point
before it is resolved; a resolved request may be reopened (back to in progress) when the
lamp goes out again. Only what reached staff as a request is one (a team was chosen and
someone was told); the citizen hears back only about a request that was neither held nor
shielded (never an abusive message: no reply rewards it, and none may quote it).
"""

from __future__ import annotations

from typing import Any

from guardian.types import RequestStatus as S

NEXT: dict[S, frozenset[S]] = {
    S.received: frozenset({S.acknowledged, S.in_progress, S.resolved, S.closed}),
    S.acknowledged: frozenset({S.in_progress, S.resolved, S.closed}),
    S.in_progress: frozenset({S.resolved, S.closed}),
    S.resolved: frozenset({S.in_progress}),
    S.closed: frozenset(),
}
# Outcomes that put a request in front of staff.
_REACHED_STAFF = frozenset({"deliver_now", "defer", "page", "shield"})
# Outcomes after which nothing is said to the author.
_SILENT = frozenset({"hold_for_review", "shield", "drop"})


def move_problem(current: S, new: S, reason: str | None) -> str | None:
    """Why the request cannot go from `current` to `new`, or None."""
    if new == current:
        return f"the request is {current.value} already."
    if new not in NEXT[current]:
        allowed = ", ".join(sorted(s.value for s in NEXT[current])) or "nothing (it is closed)"
        return f"a {current.value} request can become: {allowed}."
    if new == S.closed and not (reason or "").strip():
        return "closing a request needs a reason (a duplicate, not the town's to do…)."
    return None


def is_request(decision: dict[str, Any] | None) -> bool:
    """Whether a decided message is a request staff handle (a team and someone told)."""
    if not decision or not decision.get("team"):
        return False
    kinds = {o.get("kind") for o in decision.get("outcomes") or []}
    return bool(kinds & _REACHED_STAFF)


def may_answer(decision: dict[str, Any] | None) -> bool:
    """Whether the author may be answered in public about it."""
    if not is_request(decision):
        return False
    assert decision is not None
    kinds = {o.get("kind") for o in decision.get("outcomes") or []}
    return decision.get("level") in ("none", "rude") and not kinds & _SILENT
