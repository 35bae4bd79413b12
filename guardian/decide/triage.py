"""Triage at the door: how soon a message should be worked on, from what is cheap to know
before it is scored. Pure; the policy's rules are the router's, compiled once.

The pipeline claims work by priority, then by arrival (`guardian.storage.messages.claim`),
so a report of a fallen power cable is scored and decided ahead of a storm's backlog.
Priority is the urgency the policy's own rules give the text (urgency keywords and
patterns, a category that is an emergency by default; all languages' rules, since the
language is not known yet and a feed's hint cannot be trusted), raised to `high` when the
message mentions someone on call at that moment (a page to them may follow). A threat is
only known after scoring: it is decided in its turn, and its page then goes ahead of other
notifications (the outbox sends by priority too).

Nothing here decides anything: the decision stage classifies the message again with its
scores and language, and that is what counts. A citizen who writes an urgency word to
jump the queue gains a few seconds of ordering, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from guardian.decide.classify import Router, category_of, urgency_of
from guardian.decide.text import fold, handle_key, mentions_in
from guardian.policy.harassment import Level
from guardian.policy.model import URGENCIES, Urgency
from guardian.types import PRIORITY

# Work is claimed highest first; a message stored without triage (no policy loaded yet)
# counts as `normal` (DEFAULT_PRIORITY).
assert list(PRIORITY) == list(URGENCIES)
ON_CALL_PRIORITY = PRIORITY["high"]


@dataclass(frozen=True, slots=True)
class _Unscored:
    """An assessment before scoring: no labels, no language, level none."""

    labels: dict[str, float] = field(default_factory=dict)
    level: Level = "none"
    reasons: tuple[str, ...] = ()
    masked_text: str = ""
    lang: str | None = None


_UNSCORED = _Unscored()


@dataclass(frozen=True, slots=True)
class Triaged:
    priority: int
    urgency: Urgency
    on_call: tuple[str, ...]   # the staff mentioned who are on call now


def triage(router: Router, *, source: str, text: str, mentions: Sequence[str],
           on_call: Callable[[str], bool] | None = None) -> Triaged:
    """The priority of a message from its text and mentions (`on_call(staff_id)`: whether
    that person is on call now; None when the caller cannot tell).

    Every language's rules: a feed's language hint is often wrong on short texts, and an
    emergency missed here would wait behind the whole backlog."""
    folded = fold(text)
    category, _ = category_of(router, text, folded, None, set())
    urgency, _ = urgency_of(router, folded, None, category, _UNSCORED)
    priority = PRIORITY[urgency]
    called: list[str] = []
    if on_call is not None:
        for raw in (*mentions, *mentions_in(text)):
            staff = router.handles.get((source, handle_key(raw)))
            if staff is not None and staff not in called and on_call(staff):
                called.append(staff)
        if called:
            priority = max(priority, ON_CALL_PRIORITY)
    return Triaged(priority, urgency, tuple(called))
