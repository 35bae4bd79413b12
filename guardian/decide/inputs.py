"""What the decision engine reads: the message, its assessment, and the context the lead
builds from the database (the author's sanctions, recent messages, notifications already
sent, open pages). All plain frozen data: the engine does no I/O and reads no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from guardian.policy.harassment import LEVELS, Level
from guardian.schedule.overrides import Override

HOSTILE: frozenset[Level] = frozenset({"rude", "abusive", "threat"})
ABUSIVE: frozenset[Level] = frozenset({"abusive", "threat"})


class MessageLike(Protocol):
    """The fields of a message the engine reads; `guardian.storage.models.Message` has
    them, and so has `Post` (for tests, the CLI's simulation and benchmarks)."""

    @property
    def source(self) -> str: ...
    @property
    def external_id(self) -> str: ...
    @property
    def author_handle(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def mentions(self) -> Sequence[str]: ...


class AssessmentLike(Protocol):
    """The fields of an assessment the engine reads; `guardian.scoring.assessor.Assessment`
    has them, and so has `Judged` (rebuilt from what the scoring stage stored)."""

    @property
    def labels(self) -> Mapping[str, float]: ...
    @property
    def level(self) -> Level: ...
    @property
    def reasons(self) -> Sequence[str]: ...
    @property
    def masked_text(self) -> str: ...
    @property
    def lang(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Post:
    source: str
    external_id: str
    author_handle: str
    text: str
    lang: str | None = None
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Judged:
    labels: Mapping[str, float]
    level: Level
    masked_text: str
    lang: str | None = None
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_stored(cls, assessment: Mapping[str, Any], masked_text: str | None,
                    text: str) -> Judged:
        """From the scoring stage's columns (`assessment` JSON and `masked_text`)."""
        level = assessment.get("level", "none")
        if level not in LEVELS:
            raise ValueError(f"unknown harassment level {level!r}")
        return cls(labels=dict(assessment.get("labels", {})), level=level,
                   masked_text=masked_text if masked_text is not None else text,
                   lang=assessment.get("lang"),
                   reasons=tuple(assessment.get("reasons", ())))


def author_key(source: str, handle: str) -> str:
    """One author across messages: the source and the handle, folded."""
    return f"{source}:{handle.strip().casefold().lstrip('@')}"


@dataclass(frozen=True, slots=True)
class Recent:
    """A message decided earlier, as storm, duplicate and flood detection need it: the
    lead reads these from stored decisions (`author`, `target`, `fingerprint` are in the
    decision's JSON; `level` is the message's harassment level)."""

    author: str              # author_key(source, handle)
    target: str              # "person:<id>", "team:<id>" or "town"
    level: Level
    at: dt.datetime
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class StormCount:
    """A target's storm window at the decision's instant, this message not included: what
    storm detection needs, counted by the lead as messages come (`storm.StormTally`) rather
    than recounted from every recent message."""

    target: str
    distinct_authors: int           # authors of counted (hostile) messages in the window
    abusive_messages: int           # abusive or threatening messages in the window
    since: dt.datetime | None       # the earliest counted message in the window
    author_counted: bool            # this message's author is among those authors
    # Which levels count: hostile ones (rude or worse) for the storm window, abusive ones
    # (abusive or threat) for the early window.
    levels: frozenset[Level] = HOSTILE

    def adding(self, author: str, level: Level, at: dt.datetime) -> StormCount:
        """The window with one more message (one of a level not counted changes nothing)."""
        if level not in self.levels:
            return self
        return StormCount(
            self.target, self.distinct_authors + (not self.author_counted),
            self.abusive_messages + (level in ABUSIVE),
            at if self.since is None or at < self.since else self.since, True, self.levels)


@dataclass(frozen=True, slots=True)
class OpenPage:
    """A page not yet resolved: a new emergency for the same team and category joins it
    instead of paging again."""

    id: str
    team: str
    category: str
    opened_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Context:
    """Everything about the world the decision needs besides the policy and the clock.

    - author_strikes, muted_until, blocked: the author's sanctions (moderators' decisions).
    - recent: messages decided in the last hour or storm window, whichever is longer, that
      share this message's target or author (`Recent`); the current one is not included.
    - storm_count: the target's storm window, counted by the lead; when it is given for
      the message's target, `recent` need only hold the author's messages.
    - early_count: the same for the storm's early window (authors of abusive messages in
      `storm.early_window_minutes`); None: counted from `recent`.
    - sent_last_hour: per staff id, the non-emergency notifications sent to them in the
      last hour (the rate limit counts these).
    - open_pages: pages not yet resolved (bundling).
    - open_storms: targets that already had a storm notice in the current storm window.
    - overrides: the overrides in force around now, for look-ups outside the timeline.
    """

    author_strikes: int = 0
    muted_until: dt.datetime | None = None
    blocked: bool = False
    recent: tuple[Recent, ...] = ()
    storm_count: StormCount | None = None
    early_count: StormCount | None = None
    sent_last_hour: Mapping[str, int] = field(default_factory=dict)
    open_pages: tuple[OpenPage, ...] = ()
    open_storms: frozenset[str] = frozenset()
    overrides: tuple[Override, ...] = ()
