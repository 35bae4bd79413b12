"""`guardian simulate`: replay messages through the live pipeline in simulated time, so HR
can try a policy before it goes live.

Not a second implementation: the real stages (scoring, the decision stage and its memory),
the escalation timers, the outbox, the notifier's send-time rules, digests and the hourly
cap run on a temporary SQLite database with a virtual clock that the replay advances from
one due instant to the next; only the channels are replaced, by a recorder. Out come every
delivery as its recipient would read it (title and body, masked where masked), every
decision with its reasons, every escalation step skipped and why, and the time to shield
of each storm.

The replay file is JSON Lines. A message is an ingest payload plus its `received_at`;
two more kinds of line stand for what people do meanwhile:

    {"source": "twitter", "external_id": "1", "author": {"handle": "@vecina"},
     "text": "...", "created_at": "...", "received_at": "2026-11-25T22:48:00+01:00"}
    {"ack": "1", "at": "2026-11-26T03:20:00+01:00"}          # the page of message 1
    {"mute": "@pesado", "source": "twitter", "until": "...", "at": "..."}   # a moderator
    {"escalate": "7", "to": "police", "note": "...", "at": "..."}   # a moderator: hr or police
    {"override": {"team": "lighting", "kind": "replace", "person": "carmen",
                  "replaces": "antonio", "start": "...", "end": "...", "reason": "..."},
     "at": "..."}                                                      # HR
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import FlagLinks
from guardian.decide import Decision
from guardian.engine.decision_stage import DecisionStage, Notifying
from guardian.engine.escalated import tell_escalation
from guardian.engine.escalation import Escalator
from guardian.engine.notifier import Notifier
from guardian.engine.pipeline import StageHandler, Worker, WorkerConfig, pass_through
from guardian.engine.schedule_changes import created_notices, on_call_warnings, tell
from guardian.engine.scoring_stage import ScoringStage
from guardian.engine.timeline import DutyTimeline
from guardian.notify.digest import DigestComposer
from guardian.notify.paging import PageNotifier
from guardian.notify.render import render
from guardian.notify.sender import Sender, SenderConfig, SendResult
from guardian.policy.model import Policy
from guardian.review.decisions import decide_review
from guardian.review.queue import review_table
from guardian.review.sanctions import mute_author
from guardian.schedule.overrides import Override
from guardian.schemas import MessageIn, OverrideIn
from guardian.scoring.assessor import Assessment, Assessor
from guardian.storage import outbox
from guardian.storage.db import create_engine
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.migrate import upgrade
from guardian.storage.models import Notification
from guardian.storage.overrides import active_overrides, create_override
from guardian.storage.pages import acknowledge, pages_table
from guardian.types import (
    NotificationStatus,
    OverrideStatus,
    PageStatus,
    ReviewDecision,
    Stage,
)


def _minutes(span: dt.timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 60} min {seconds % 60:02d} s"


class ReplayError(Exception):
    """A line of the replay file is not usable; the message says which and why."""


@dataclass(frozen=True, order=True)
class Event:
    at: dt.datetime
    order: int
    kind: str            # decision | skipped | review | drop | storm | notification |
    #                      digest | page | escalation | last_resort | acknowledged | mute |
    #                      escalated (by a moderator) | override (by HR) | warning
    message: str         # the message's external id ("" for none)
    people: tuple[str, ...] = ()
    detail: str = ""
    reasons: tuple[str, ...] = ()
    title: str = ""      # a delivery as its recipient reads it
    body: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "message": self.message,
                "people": list(self.people), "detail": self.detail,
                "reasons": list(self.reasons), "title": self.title, "body": self.body}

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
    escalate: tuple[str, str, str] | None = None  # message, hr or police, note
    override: OverrideIn | None = None


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
        elif "override" in data:
            try:
                override = OverrideIn.model_validate(data["override"])
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in ("override", *first["loc"]))
                raise ReplayError(f"line {number}: `{where}`: {first['msg']}.") from None
            items.append(_Item(_instant(data.get("at"), number, "at"), number,
                               override=override))
        elif "escalate" in data:
            to = str(data.get("to", ""))
            if to not in ("hr", "police"):
                raise ReplayError(f"line {number}: `to` must be hr or police.")
            items.append(_Item(_instant(data.get("at"), number, "at"), number,
                               escalate=(str(data["escalate"]), to,
                                         str(data.get("note", ""))[:1000])))
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


# A replay's line, for callers that build replays from elsewhere than a file (the what-if
# replays stored traffic: guardian.engine.whatif).
Item = _Item


# Links in a replay's deliveries are signed with a key made for the run: they open nothing.
SECRET = secrets.token_urlsafe(32)
BASE_URL = "https://guardian.simulate.invalid"
# After the last line, the replay runs on this long for the digests and escalations left.
AFTER = dt.timedelta(days=8)
# Settling one instant: rounds of timers and sends before the clock moves on.
_ROUNDS = 200
_PAGE_KINDS = {"paged": "page", "escalated": "escalation", "last_resort": "last_resort"}


@dataclass
class _Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Simulation:
    """A replay through the live pipeline (see the module's docstring)."""

    policy: Policy
    assessor: Assessor
    # Overrides already in force when the replay starts (the what-if's, from the live
    # database): stored as they are, no one told, no event.
    overrides: Sequence[Override] = ()
    events: list[Event] = field(default_factory=list)
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    # Every delivery: (sent at, recipient, notification kind, what it is about: the
    # message's external id, or a digest's items' ids joined by commas).
    deliveries: list[tuple[dt.datetime, str, str, str]] = field(default_factory=list)
    _order: int = 0

    def _emit(self, at: dt.datetime, kind: str, message: str, people: tuple[str, ...] = (),
              detail: str = "", reasons: tuple[str, ...] = (), title: str = "",
              body: str = "") -> None:
        self._order += 1
        self.events.append(Event(at, self._order, kind, message, people, detail, reasons,
                                 title, body))

    def run(self, items: list[_Item]) -> list[Event]:
        """The replay's events, in time order (runs its own event loop)."""
        return asyncio.run(self.replay(items))

    async def replay(self, items: list[_Item]) -> list[Event]:
        """`run`, inside a running event loop."""
        if not items:
            return []
        # The engine's own log lines (a page escalated...) are the replay's events here.
        quiet = logging.getLogger("guardian")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with tempfile.TemporaryDirectory(prefix="guardian-simulate-") as tmp:
                await self._run(items, Path(tmp) / "simulate.db")
        finally:
            quiet.setLevel(level)
        return sorted(self.events)

    async def _assess(self, texts: Sequence[str], hints: Sequence[str | None]
                      ) -> list[Assessment]:
        return self.assessor.assess(list(texts), list(hints))

    async def _run(self, items: list[_Item], database: Path) -> None:
        engine = create_engine(f"sqlite:///{database}")
        try:
            await upgrade(engine)
            await self._replay(engine, items)
        finally:
            await engine.dispose()

    async def _replay(self, engine: AsyncEngine, items: list[_Item]) -> None:
        clock = _Clock(items[0].at)
        policy = self.policy
        timeline = DutyTimeline(engine, lambda: policy)
        pages = PageNotifier(policy=lambda: policy, secret=SECRET, base_url=BASE_URL)
        flags = FlagLinks(secret=SECRET, base_url=BASE_URL)
        handlers: dict[Stage, StageHandler] = {
            Stage.received: ScoringStage(self._assess),
            Stage.scored: DecisionStage(engine, timeline, clock=clock, notifying=Notifying(
                BASE_URL, pages, flag_links=flags)),
            Stage.decided: pass_through}
        worker = Worker(engine, handlers=handlers, config=WorkerConfig(batch_size=64),
                        clock=clock)
        self._external: dict[int, str] = {}

        async def record(channel: str, notification: Notification) -> SendResult:
            await self._delivered(engine, clock.now, notification)
            return SendResult(True, "simulate://recorder", None, 0.0)

        sender = Sender(engine=engine, policy=lambda: policy, clock=clock,
                        config=SenderConfig(retry_base_seconds=60.0),
                        duty=timeline.availability, transport=record)
        notifier = Notifier(sender, DigestComposer(engine, timeline.availability, BASE_URL,
                                                   clock=clock, flag_links=flags))
        escalator = Escalator(engine, clock=clock, notify=pages)
        for standing in self.overrides:
            if standing.team is None:
                continue  # stored overrides (the table) each name their team
            async with engine.begin() as conn:
                await create_override(
                    conn=conn, team=standing.team, kind=standing.kind,
                    person=standing.person, replaces=standing.replaces,
                    starts_at=standing.start, ends_at=standing.end, reason=standing.reason,
                    created_by="hr:simulate", status=OverrideStatus.active)

        async def settle() -> None:
            for _ in range(_ROUNDS):
                moved = len(await escalator.advance())
                moved += await notifier.run_once()
                if moved == 0:
                    return

        async def advance(until: dt.datetime) -> None:
            """Every instant something is due before `until`, in order."""
            while True:
                due = await next_due(engine)
                if due is None or due >= until:
                    return
                # A due instant in the past that settling did not clear (nothing can be
                # done then): look a minute later, so the replay always moves on.
                clock.now = max(due, clock.now + dt.timedelta(minutes=1)
                                if due <= clock.now else due)
                await settle()

        for item in items:
            await advance(item.at)
            clock.now = max(clock.now, item.at)
            if item.message is not None:
                await self._ingest(engine, worker, item.message, clock.now)
            elif item.ack is not None:
                await self._ack(engine, item.ack, clock.now)
            elif item.escalate is not None:
                await self._escalate(engine, item.escalate, clock.now, pages)
            elif item.override is not None:
                await self._override(engine, item.override, clock.now)
            elif item.mute is not None:
                source, handle, until = item.mute
                async with engine.begin() as conn:
                    await mute_author(conn=conn, source=source, handle=handle,
                                      by="simulate", until=until, now=clock.now)
                self._emit(clock.now, "mute", "", (handle,), f"until {until.isoformat()}")
            await settle()
        await advance(items[-1].at + AFTER)

    async def _ingest(self, engine: AsyncEngine, worker: Worker, payload: MessageIn,
                      now: dt.datetime) -> None:
        async with engine.begin() as conn:
            [stored] = await store_messages(conn=conn, messages=[payload], now=now)
        self._external[stored.id] = payload.external_id
        await worker.drain()
        async with engine.connect() as conn:
            row = (await conn.execute(select(messages_table.c.decision).where(
                messages_table.c.id == stored.id))).scalar()
        if row is None:
            return
        decision = Decision.from_json(row)
        self.decisions.append((payload.external_id, decision))
        self._decided(payload.external_id, decision)

    def _decided(self, key: str, decision: Decision) -> None:
        now = decision.decided_at
        self._emit(now, "decision", key, (), f"{decision.category}, {decision.urgency}, "
                   f"{decision.level}: {' + '.join(decision.kinds)}",
                   tuple(decision.explain()))
        for outcome in decision.outcomes:
            if outcome.channel == "review_queue":
                self._emit(now, "review", key, outcome.recipients,
                           f"{outcome.kind} ({outcome.code}): the original to the "
                           "moderators' queue", outcome.reasons)
            elif outcome.kind == "drop":
                self._emit(now, "drop", key, (), outcome.code, outcome.reasons)
            if outcome.escalation is not None:
                for step in outcome.escalation.steps:
                    if step.skipped:
                        self._emit(step.at, "skipped", key, (),
                                   f"step {step.round}.{step.index} ({step.who}): "
                                   f"{step.skipped}")
        storm = decision.storm
        if storm is not None and storm.first:
            self._emit(now, "storm", key, (), f"time to shield {_minutes(now - storm.since)} "
                       f"on {storm.target}: {storm.distinct_authors} authors since "
                       f"{storm.since.isoformat()}")

    async def _escalate(self, engine: AsyncEngine, what: tuple[str, str, str],
                        now: dt.datetime, pages: PageNotifier) -> None:
        """A moderator escalates the message's open review items, as the API does."""
        key, to, note = what
        ident = next((i for i, k in self._external.items() if k == key), None)
        team = to if to == "hr" else next(
            (t.id for t in self.policy.teams if "police" in t.categories), None)
        if ident is None or team is None:
            self._emit(now, "escalation", key, (), f"nothing to escalate to {to}")
            return
        async with engine.begin() as conn:
            ids = list((await conn.execute(select(review_table.c.id).where(
                review_table.c.message_id == ident,
                review_table.c.status != "decided"))).scalars().all())
            decided = await decide_review(
                conn=conn, item_ids=ids, decision=ReviewDecision.escalate,
                moderator="moderator:simulate", moderation=self.policy.moderation,
                note=note or None, escalated_to=team, now=now)
            await tell_escalation(conn, decided.items, self.policy, now, BASE_URL,
                                  "moderator:simulate", page_hook=pages)
        self._emit(now, "escalated", key, (), f"a moderator escalates it to {team}"
                   + (f": {note}" if note else ""))

    async def _override(self, engine: AsyncEngine, data: OverrideIn, now: dt.datetime
                        ) -> None:
        """HR creates an override, as the API does: in force at once, the people it
        concerns told, and a warning when it keeps someone on call too long."""
        async with engine.begin() as conn:
            row = await create_override(
                conn=conn, team=data.team, kind=data.kind, person=data.person,
                replaces=data.replaces, starts_at=data.start, ends_at=data.end,
                reason=data.reason, created_by="hr:simulate", status=OverrideStatus.active)
            await tell(conn, row, created_notices(data.kind, data.person, data.replaces),
                       self.policy, now, BASE_URL)
        people = [data.person, *([data.replaces] if data.replaces else [])]
        self._emit(now, "override", "", tuple(people),
                   f"HR: {data.kind} in team {data.team} from {data.start.isoformat()} "
                   f"to {data.end.isoformat()}")
        overrides = await active_overrides(engine, start=now - dt.timedelta(days=7),
                                           end=now + dt.timedelta(weeks=60))
        for warning in on_call_warnings(self.policy, now, overrides, people):
            self._emit(now, "warning", "", (), warning)

    async def _ack(self, engine: AsyncEngine, key: str, now: dt.datetime) -> None:
        ident = next((i for i, k in self._external.items() if k == key), None)
        async with engine.begin() as conn:
            page_id = None if ident is None else (await conn.execute(
                select(pages_table.c.id).where(pages_table.c.message_id == ident)
                .order_by(pages_table.c.id))).scalars().first()
            acked = (await acknowledge(conn=conn, page_id=page_id, actor="simulate",
                                       now=now) if page_id is not None else None)
        if acked is not None:
            self._emit(now, "acknowledged", key, (), "escalation stopped")
        else:
            self._emit(now, "acknowledged", key, (), "no open page to acknowledge (closed "
                       "or never opened): nothing changes")

    async def _delivered(self, engine: AsyncEngine, now: dt.datetime,
                         notification: Notification) -> None:
        rendered = render(notification.kind, notification.lang, notification.payload)
        payload = notification.payload
        person = (notification.recipient,)
        key = self._external.get(notification.message_id or 0, "")
        if notification.kind == "page":
            kind = _PAGE_KINDS.get(str(payload.get("step")), "page")
            detail = f"page {notification.page_id} ({payload.get('step')})"
        elif notification.kind == "digest":
            kind = "digest"
            async with engine.connect() as conn:
                ids = (await conn.execute(select(outbox.notifications_table.c.message_id)
                                          .where(outbox.notifications_table.c.digest_id
                                                 == notification.id))).scalars().all()
            key = ",".join(sorted(dict.fromkeys(self._external.get(i or 0, "")
                                                for i in ids)))
            held = int(payload.get("held") or 0)
            detail = f"{payload.get('count', 0)} item(s)" + (
                f", {held} held by the moderators (a count)" if held else "")
        elif notification.kind == "deliver":
            kind = "notification"
            detail = f"deliver ({'masked' if payload.get('shielded') else 'original'})"
        else:
            event = payload.get("event")
            kind = "notification"
            detail = f"{notification.kind} ({event})" if event else str(notification.kind)
        self.deliveries.append((now, notification.recipient, str(notification.kind), key))
        self._emit(now, kind, key, person, detail, (), rendered.title, rendered.body)


async def next_due(engine: AsyncEngine) -> dt.datetime | None:
    """The next instant something is due: a page's next step, a notification to send, a
    digest to compose."""
    n, p = outbox.notifications_table.c, pages_table.c
    async with engine.connect() as conn:
        times = [
            (await conn.execute(select(func.min(p.due_at)).where(
                p.status == PageStatus.open.value))).scalar(),
            (await conn.execute(select(func.min(n.available_at)).where(
                n.status == NotificationStatus.pending.value))).scalar(),
            (await conn.execute(select(func.min(n.due_at)).where(
                n.status == NotificationStatus.waiting.value))).scalar()]
    found = [t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
             for t in times if t is not None]
    return min(found) if found else None
