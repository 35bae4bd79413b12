"""`guardian simulate`: replay messages through scoring, decisions, escalation timers and
digests in simulated time, without a database, so HR can try a policy before it goes live.

The replay file is JSON Lines. A message is an ingest payload plus its `received_at`;
two more kinds of line stand for what people do meanwhile:

    {"source": "twitter", "external_id": "1", "author": {"handle": "@vecina"},
     "text": "...", "created_at": "...", "received_at": "2026-11-25T22:48:00+01:00"}
    {"ack": "1", "at": "2026-11-26T03:20:00+01:00"}          # the page of message 1
    {"mute": "@pesado", "source": "twitter", "until": "...", "at": "..."}   # a moderator
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guardian.decide import (
    Context,
    Decision,
    OpenPage,
    PlanStep,
    Recent,
    StormTally,
    author_key,
    classify,
    decide,
)
from guardian.decide.inputs import ABUSIVE
from guardian.policy.model import Policy
from guardian.schedule import Timeline
from guardian.schemas import MessageIn
from guardian.scoring.assessor import Assessor


def _minutes(span: dt.timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 60} min {seconds % 60:02d} s"


class ReplayError(Exception):
    """A line of the replay file is not usable; the message says which and why."""


@dataclass(frozen=True, order=True)
class Event:
    at: dt.datetime
    order: int
    kind: str            # decision | notification | review | digest | page | escalation |
    #                      last_resort | acknowledged | mute | drop | storm
    message: str         # the message's external id ("" for none)
    people: tuple[str, ...] = ()
    detail: str = ""
    reasons: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "message": self.message,
                "people": list(self.people), "detail": self.detail,
                "reasons": list(self.reasons)}

    def line(self, zone: dt.tzinfo) -> str:
        who = f" → {', '.join(self.people)}" if self.people else ""
        return f"{self.at.astimezone(zone):%Y-%m-%d %H:%M} {self.kind:<12} " \
               f"{self.message:<10}{who}  {self.detail}"


@dataclass
class _Item:
    at: dt.datetime
    line: int
    message: MessageIn | None = None
    ack: str | None = None
    mute: tuple[str, str, dt.datetime] | None = None


def _instant(value: object, line: int, name: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ReplayError(f"line {line}: `{name}` is not an ISO 8601 instant.") from None
    if parsed.tzinfo is None:
        raise ReplayError(f"line {line}: `{name}` needs a time zone.")
    return parsed.astimezone(dt.UTC)


def read_replay(path: Path) -> list[_Item]:
    items = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("//"):
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ReplayError(f"line {number}: not JSON ({exc.msg}).") from None
        if not isinstance(data, dict):
            raise ReplayError(f"line {number}: expected a JSON object.")
        if "ack" in data:
            items.append(_Item(_instant(data.get("at"), number, "at"), number,
                               ack=str(data["ack"])))
        elif "mute" in data:
            items.append(_Item(_instant(data.get("at"), number, "at"), number,
                               mute=(str(data.get("source", "twitter")), str(data["mute"]),
                                     _instant(data.get("until"), number, "until"))))
        else:
            received = _instant(data.pop("received_at", None), number, "received_at")
            try:
                message = MessageIn.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ReplayError(f"line {number}: `{where}`: {first['msg']}.") from None
            items.append(_Item(received, number, message=message))
    return sorted(items, key=lambda i: (i.at, i.line))


@dataclass
class _Stored:
    """A message as the engine reads it (the fields of `guardian.storage.models.Message`)."""

    source: str
    external_id: str
    author_handle: str
    text: str
    lang: str | None
    mentions: list[str] = field(default_factory=list)


@dataclass
class Simulation:
    policy: Policy
    assessor: Assessor
    events: list[Event] = field(default_factory=list)
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    _order: int = 0

    def _emit(self, at: dt.datetime, kind: str, message: str, people: tuple[str, ...] = (),
              detail: str = "", reasons: tuple[str, ...] = ()) -> None:
        self._order += 1
        self.events.append(Event(at, self._order, kind, message, people, detail, reasons))

    def run(self, items: list[_Item]) -> list[Event]:
        if not items:
            return []
        start = items[0].at - dt.timedelta(hours=1)
        end = items[-1].at + dt.timedelta(days=8)
        timeline = Timeline.build(self.policy, start, end)
        recent: dict[str, list[Recent]] = {}   # by author
        tally = StormTally(self.policy.storm.window_minutes)
        early = StormTally(self.policy.storm.early_window_minutes, ABUSIVE)
        storms: dict[str, dt.datetime] = {}  # target -> when its storm started
        mutes: dict[str, dt.datetime] = {}
        pages: dict[str, tuple[Decision, dt.datetime]] = {}  # external id -> its page
        acks: dict[str, dt.datetime] = {}
        for item in items:
            if item.ack is not None:
                acks.setdefault(item.ack, item.at)
            elif item.mute is not None:
                source, handle, until = item.mute
                mutes[author_key(source, handle)] = until
                self._emit(item.at, "mute", "", (handle,), f"until {until.isoformat()}")
        window = dt.timedelta(minutes=max(self.policy.storm.window_minutes, 60))
        for item in items:
            if item.message is None:
                continue
            payload, now = item.message, item.at
            [assessment] = self.assessor.assess([payload.text], [payload.lang])
            stored = _Stored(payload.source, payload.external_id, payload.author.handle,
                             payload.text, payload.lang, list(payload.mentions))
            where = classify(stored, assessment, self.policy)
            author = author_key(payload.source, payload.author.handle)
            open_pages = tuple(
                OpenPage(id=key, team=d.team or "", category=d.category, opened_at=at)
                for key, (d, at) in pages.items() if key not in acks or acks[key] > now)
            muted = mutes.get(author)
            context = Context(
                muted_until=muted if muted and muted > now else None,
                recent=tuple(r for r in recent.get(author, ()) if r.at >= now - window),
                storm_count=(counted := tally.count(where.target, author, now)),
                early_count=early.count(where.target, author, now),
                open_pages=open_pages, open_storms=frozenset(
                    t for t, at in storms.items()
                    if now - at < dt.timedelta(minutes=self.policy.storm.window_minutes)))
            decision = decide(stored, assessment, context, self.policy, now, timeline)
            this = Recent(author, decision.target, assessment.level, now, decision.fingerprint)
            recent.setdefault(author, []).append(this)
            tally.add(this)
            early.add(this)
            if decision.storm is not None and decision.storm.first:
                storms[decision.storm.target] = now
                # Time to shield: from the first hostile message in the window to now.
                first = counted.since or now
                self._emit(now, "storm", payload.external_id, (),
                           f"time to shield {_minutes(now - first)} on "
                           f"{decision.storm.target}: {decision.storm.distinct_authors} "
                           f"authors since {first.isoformat()}")
            self._decided(payload.external_id, decision, now, acks, pages)
        self._digests()
        return sorted(self.events)

    def _decided(self, key: str, decision: Decision, now: dt.datetime,
                 acks: dict[str, dt.datetime], pages: dict[str, tuple[Decision, dt.datetime]]
                 ) -> None:
        self.decisions.append((key, decision))
        self._emit(now, "decision", key, (), f"{decision.category}, {decision.urgency}, "
                   f"{decision.level}: {' + '.join(decision.kinds)}", decision.reasons)
        for outcome in decision.outcomes:
            if outcome.kind == "page" and outcome.escalation is not None:
                pages[key] = (decision, now)
                self._escalate(key, outcome.escalation.steps, outcome.escalation.last_resort,
                               outcome.escalation.exhausted_at, acks.get(key))
            elif outcome.kind == "page":
                self._emit(now, "page", key, (), f"joins the open page of "
                           f"{outcome.bundle_with}", outcome.reasons)
            elif outcome.channel == "digest":
                continue  # collected into digests below
            elif outcome.channel == "review_queue":
                self._emit(now, "review", key, outcome.recipients,
                           f"{outcome.kind}: the original to the moderators' queue",
                           outcome.reasons)
            elif outcome.kind != "drop" and outcome.at is not None:
                self._emit(outcome.at, "notification", key, outcome.recipients,
                           f"{outcome.kind} via {outcome.channel} ({outcome.content})",
                           outcome.reasons)
            else:
                self._emit(now, outcome.kind, key, outcome.recipients, outcome.code,
                           outcome.reasons)

    def _escalate(self, key: str, steps: Sequence[PlanStep], last_resort: str | None,
                  exhausted_at: dt.datetime | None, acked: dt.datetime | None) -> None:
        first = True
        for step in steps:
            if step.skipped:
                continue
            if acked is not None and step.at > acked:
                break
            self._emit(step.at, "page" if first else "escalation", key, step.people,
                       f"step {step.index + 1}, round {step.round + 1} ({step.who}); "
                       f"waits {step.wait_minutes} min", step.sources)
            first = False
        if acked is not None and (exhausted_at is None or acked < exhausted_at):
            self._emit(acked, "acknowledged", key, (), "escalation stopped")
        elif exhausted_at is not None:
            self._emit(exhausted_at, "last_resort", key,
                       (last_resort,) if last_resort else (), "the chain is exhausted")

    def _digests(self) -> None:
        """Deferred items grouped into one digest per person and delivery time."""
        grouped: dict[tuple[str, dt.datetime], list[str]] = {}
        for key, decision in self.decisions:
            for outcome in decision.outcomes:
                if outcome.channel != "digest" or outcome.at is None:
                    continue
                for person in outcome.recipients:
                    grouped.setdefault((person, outcome.at), []).append(key)
        for (person, at), keys in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            self._emit(at, "digest", ",".join(keys), (person,), f"{len(keys)} item(s)")
