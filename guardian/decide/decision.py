"""A decision: what Guardian does with one message, and why. Plain frozen data, with a
JSON form (`to_json`/`from_json`) that the lead stores with the message."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, cast

from guardian.policy.harassment import Level
from guardian.policy.model import Urgency

SCHEMA_VERSION = 1

OutcomeKind = Literal["deliver_now", "defer", "page", "hold_for_review", "shield", "drop"]
OUTCOME_KINDS: tuple[OutcomeKind, ...] = ("deliver_now", "defer", "page", "hold_for_review",
                                          "shield", "drop")
# How it travels: `preferred` now through the person's first channel (the others as
# fallback), `urgent` now through every channel until acknowledged (pages), `digest` in
# the person's digest at `at`, `review_queue` into the moderators' queue (no push), `none`.
Channel = Literal["preferred", "urgent", "digest", "review_queue", "none"]
# Which text the recipients get: the message as written, the masked text, a storm notice
# (counts and a link, no message text), a held notice (a count in the digest of the
# person an abusive message without a request was aimed at: no text), or nothing.
Content = Literal["original", "masked", "storm_notice", "held_notice", "none"]
# In which role the recipients get it.
Audience = Literal["staff", "moderators", "hr", "none"]
PUSH_CHANNELS: frozenset[Channel] = frozenset({"preferred", "urgent"})


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.astimezone(dt.UTC).isoformat()


def _when(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One step of an escalation plan, resolved to people at the time it would fire.

    A step that reaches no one (nobody on call, a lead off duty) is `skipped` and takes no
    time: the next step fires at the same instant."""

    round: int           # 0, then 1.. for the chain's repeats
    index: int           # the step's place in the chain
    who: str             # person | team_on_call | team_lead | last_resort
    people: tuple[str, ...]
    at: dt.datetime
    wait_minutes: int    # for an acknowledgement before the next step
    skipped: str | None = None
    sources: tuple[str, ...] = ()  # rotation/override behind `people`
    reason: str = ""     # why these people (or, with `skipped`, why no one)

    def to_json(self) -> dict[str, Any]:
        return {"round": self.round, "index": self.index, "who": self.who,
                "people": list(self.people), "at": _iso(self.at),
                "wait_minutes": self.wait_minutes, "skipped": self.skipped,
                "sources": list(self.sources), "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanStep:
        at = _when(data["at"])
        assert at is not None
        return cls(round=data["round"], index=data["index"], who=data["who"],
                   people=tuple(data["people"]), at=at, wait_minutes=data["wait_minutes"],
                   skipped=data["skipped"], sources=tuple(data["sources"]),
                   reason=data.get("reason") or data["skipped"] or "")


@dataclass(frozen=True, slots=True)
class EscalationPlan:
    chain: str | None
    team: str
    steps: tuple[PlanStep, ...]
    last_resort: str | None         # told when the chain is exhausted...
    exhausted_at: dt.datetime | None  # ...at this instant, unless acknowledged before

    def page_steps(self) -> list[tuple[str, int]]:
        """The plan as `guardian.storage.pages` takes it: (person, delay_minutes), steps
        that reach no one left out; several people in one step are paged one after the
        other with no wait between them (the last of them waits the step's delay)."""
        flat: list[tuple[str, int]] = []
        for step in self.steps:
            for n, person in enumerate(step.people):
                flat.append((person, step.wait_minutes if n == len(step.people) - 1 else 0))
        return flat

    def to_json(self) -> dict[str, Any]:
        return {"chain": self.chain, "team": self.team,
                "steps": [s.to_json() for s in self.steps], "last_resort": self.last_resort,
                "exhausted_at": _iso(self.exhausted_at)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EscalationPlan:
        return cls(chain=data["chain"], team=data["team"],
                   steps=tuple(PlanStep.from_json(s) for s in data["steps"]),
                   last_resort=data["last_resort"], exhausted_at=_when(data["exhausted_at"]))


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    recipients: tuple[str, ...]  # staff ids
    audience: Audience
    channel: Channel
    at: dt.datetime | None       # when it reaches them (None: never, for drops)
    content: Content
    urgency: Urgency
    code: str                    # a short machine-readable reason: "on_duty", "storm"...
    reasons: tuple[str, ...]
    escalation: EscalationPlan | None = None  # pages
    bundle_with: str | None = None            # pages: the open page this joins

    @property
    def emergency(self) -> bool:
        return self.urgency == "emergency"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "recipients": list(self.recipients),
                "audience": self.audience, "channel": self.channel, "at": _iso(self.at),
                "content": self.content, "urgency": self.urgency, "code": self.code,
                "reasons": list(self.reasons),
                "escalation": self.escalation.to_json() if self.escalation else None,
                "bundle_with": self.bundle_with}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        plan = data["escalation"]
        return cls(kind=data["kind"], recipients=tuple(data["recipients"]),
                   audience=data["audience"], channel=data["channel"], at=_when(data["at"]),
                   content=data["content"], urgency=data["urgency"], code=data["code"],
                   reasons=tuple(data["reasons"]),
                   escalation=EscalationPlan.from_json(plan) if plan else None,
                   bundle_with=data["bundle_with"])


@dataclass(frozen=True, slots=True)
class StormInfo:
    target: str
    distinct_authors: int
    abusive_messages: int
    window_minutes: int
    since: dt.datetime
    first: bool  # this message set the storm off: the notice goes out with it

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "distinct_authors": self.distinct_authors,
                "abusive_messages": self.abusive_messages,
                "window_minutes": self.window_minutes, "since": _iso(self.since),
                "first": self.first}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StormInfo:
        since = _when(data["since"])
        assert since is not None
        return cls(target=data["target"], distinct_authors=data["distinct_authors"],
                   abusive_messages=data["abusive_messages"],
                   window_minutes=data["window_minutes"], since=since, first=data["first"])


@dataclass(frozen=True, slots=True)
class Decision:
    decided_at: dt.datetime
    source: str
    external_id: str
    author: str                  # author_key(source, handle)
    level: Level
    category: str
    team: str | None
    target: str                  # "person:<id>", "team:<id>" or "town"
    mentioned: tuple[str, ...]   # staff ids mentioned by handle
    urgency: Urgency
    fingerprint: str
    storm: StormInfo | None
    outcomes: tuple[Outcome, ...]
    reasons: tuple[str, ...]     # classification: category, urgency, level, scores

    @property
    def kinds(self) -> tuple[OutcomeKind, ...]:
        return tuple(o.kind for o in self.outcomes)

    def of_kind(self, kind: OutcomeKind) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def explain(self) -> list[str]:
        """Every reason, classification first, then each outcome's, as lines."""
        lines = list(self.reasons)
        for outcome in self.outcomes:
            who = ", ".join(outcome.recipients) or "no one"
            lines.append(f"{outcome.kind} → {who} ({outcome.channel}, {outcome.content}):")
            lines.extend(f"  {r}" for r in outcome.reasons)
            if outcome.escalation is not None:
                # The plan, step by step, with why each reaches whom (or no one).
                lines.extend(
                    f"  step {s.round}.{s.index} ({s.who}) at {_iso(s.at)}: "
                    f"{'skipped: ' + s.skipped if s.skipped else s.reason}"
                    for s in outcome.escalation.steps)
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"version": SCHEMA_VERSION, "decided_at": _iso(self.decided_at),
                "message": {"source": self.source, "external_id": self.external_id,
                            "author": self.author},
                "level": self.level, "category": self.category, "team": self.team,
                "target": self.target, "mentioned": list(self.mentioned),
                "urgency": self.urgency, "fingerprint": self.fingerprint,
                "storm": self.storm.to_json() if self.storm else None,
                "outcomes": [o.to_json() for o in self.outcomes],
                "reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"unknown decision version {data.get('version')!r}")
        decided_at = _when(data["decided_at"])
        assert decided_at is not None
        message = data["message"]
        return cls(decided_at=decided_at, source=message["source"],
                   external_id=message["external_id"], author=message["author"],
                   level=cast(Level, data["level"]), category=data["category"],
                   team=data["team"], target=data["target"],
                   mentioned=tuple(data["mentioned"]), urgency=data["urgency"],
                   fingerprint=data["fingerprint"],
                   storm=StormInfo.from_json(data["storm"]) if data["storm"] else None,
                   outcomes=tuple(Outcome.from_json(o) for o in data["outcomes"]),
                   reasons=tuple(data["reasons"]))
