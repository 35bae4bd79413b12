"""The policy what-if: the last days of real traffic, replayed through the live engine
(`guardian simulate`'s `Simulation`, not a second implementation) under the policy in force
and under a changed one, and the difference (guardian.decide.whatif compares).

What is replayed, from the service's database:

- the messages received in the period (the most recent `limit`, when there are more),
  each as it was ingested; those whose text retention or an erasure removed are left out
  and counted;
- the acknowledgements of their pages, at the instants people gave them;
- the overrides in force (HR's and accepted swaps) that overlap the period, in force from
  the start of the replay.

Both runs score with the same scorer (the lite scorer unless told otherwise), so what
differs is the policy alone. Moderators' decisions (dismissals, mutes) are not replayed.

The web runs each replay in a process of its own (`in_children`): the engine's metrics,
log levels and migrations stay out of the serving process, and the two runs go side by
side."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.decide.whatif import Run, WhatIf, compare, contacts_of, route_of
from guardian.engine.privacy import ERASED
from guardian.engine.retention import EXPIRED
from guardian.engine.simulate import AFTER, Item, Simulation
from guardian.policy.model import Policy
from guardian.schedule.availability import Availability
from guardian.schedule.overrides import Override
from guardian.schemas import MessageIn
from guardian.scoring.assessor import assessor_for
from guardian.scoring.types import Model
from guardian.storage.messages import messages_table
from guardian.storage.overrides import active_overrides
from guardian.storage.pages import pages_table

DEFAULT_DAYS = 7
MAX_DAYS = 28
# Levels whose masked text the what-if may show (as staff read it); a threat's never.
_SHOWN_LEVELS = frozenset({"none", "rude", "abusive"})
_SNIPPET = 160


@dataclass(frozen=True)
class Replayed:
    """A stored message as the what-if shows it: never its raw text."""

    id: int
    received_at: dt.datetime
    category: str | None         # as decided when it came in (None: not decided)
    level: str | None
    text: str | None             # the masked text staff read, cut short; None: not shown

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "received_at": self.received_at.isoformat(),
                "category": self.category, "level": self.level, "text": self.text}


@dataclass
class Traffic:
    """The stored traffic of a period, as replay lines."""

    start: dt.datetime           # the period replayed (later than asked when cut)
    end: dt.datetime
    items: list[Item] = field(default_factory=list)
    messages: dict[str, Replayed] = field(default_factory=dict)
    redacted: int = 0            # left out: text removed by retention or an erasure
    unreadable: int = 0          # left out: no longer a valid message
    beyond_limit: int = 0        # left out: older than the `limit` most recent
    acks: int = 0
    overrides: list[Override] = field(default_factory=list)


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


async def stored_traffic(engine: AsyncEngine, *, start: dt.datetime, end: dt.datetime,
                         limit: int | None = None) -> Traffic:
    """The messages received in [start, end) (the `limit` most recent), their pages'
    acknowledgements, and the overrides in force then, as a replay."""
    m, p = messages_table.c, pages_table.c
    window = (m.received_at >= start, m.received_at < end)
    async with engine.connect() as conn:
        query = select(messages_table).where(*window).order_by(
            m.received_at.desc(), m.id.desc())
        rows = (await conn.execute(query if limit is None else query.limit(limit))
                ).mappings().all()
        beyond = 0
        if limit is not None and len(rows) == limit:
            total = (await conn.execute(select(func.count()).select_from(messages_table)
                                        .where(*window))).scalar_one()
            beyond = int(total) - limit
        ids = [r["id"] for r in rows]
        acked = (await conn.execute(
            select(p.message_id, func.min(p.acked_at)).where(
                p.message_id.in_(ids), p.acked_at.is_not(None)).group_by(p.message_id)
        )).all() if ids else []
    rows = list(reversed(rows))
    traffic = Traffic(start=_aware(rows[0]["received_at"]) if beyond else start, end=end,
                      beyond_limit=beyond)
    for row in rows:
        if row["text"] in (EXPIRED, ERASED):
            traffic.redacted += 1
            continue
        key = str(row["id"])
        try:
            payload = MessageIn.model_validate({
                "source": row["source"], "external_id": key,
                "author": {"handle": row["author_handle"], "name": row["author_name"]},
                "text": row["text"], "created_at": _aware(row["created_at"]),
                "mentions": row["mentions"] or [], "in_reply_to": row["in_reply_to"],
                "url": row["url"], "lang": row["lang"]})
        except ValidationError:
            traffic.unreadable += 1
            continue
        received = _aware(row["received_at"])
        traffic.items.append(Item(received, len(traffic.items), message=payload))
        level = row["harassment_level"]
        masked = row["masked_text"]
        shown = masked if masked and level in _SHOWN_LEVELS else None
        traffic.messages[key] = Replayed(
            id=row["id"], received_at=received,
            category=(row["decision"] or {}).get("category"), level=level,
            text=shown if shown is None or len(shown) <= _SNIPPET
            else shown[:_SNIPPET - 1] + "…")
    for message_id, at in acked:
        if str(message_id) in traffic.messages:
            traffic.items.append(Item(_aware(at), len(traffic.items), ack=str(message_id)))
            traffic.acks += 1
    traffic.items.sort(key=lambda i: (i.at, i.line))
    traffic.overrides = await active_overrides(engine, start=start, end=end + AFTER)
    return traffic


def _standing(policy: Policy, overrides: Sequence[Override]) -> list[Override]:
    """The overrides a policy can hold: its teams, its people."""
    return [o for o in overrides if o.team is not None and o.team in policy.team_index
            and o.person in policy.people
            and (o.replaces is None or o.replaces in policy.people)]


async def replay(items: Sequence[Item], policy: Policy, overrides: Sequence[Override],
                 model: Model | None = None) -> Run:
    """One replay through the live engine (on a temporary database), judged by its own
    policy. `model`: the scorer (default: the lite scorer)."""
    if model is None:
        from guardian.scoring.lite import LiteModel

        model = LiteModel()
    standing = _standing(policy, overrides)
    simulation = Simulation(policy=policy, assessor=assessor_for(model, policy),
                            overrides=standing)
    await simulation.replay(list(items))
    availability = Availability(policy, None, standing)
    return Run(contacts=contacts_of(simulation.deliveries, availability),
               routes=tuple(route_of(key, d) for key, d in simulation.decisions))


def replay_run(items: Sequence[Item], policy: Policy, overrides: Sequence[Override],
               model: Model | None = None) -> Run:
    """`replay` in an event loop of its own (a child process's, a command's)."""
    return asyncio.run(replay(items, policy, overrides, model))


async def in_children(items: Sequence[Item], old: Policy, new: Policy,
                      overrides: Sequence[Override]) -> tuple[Run, Run]:
    """Both replays, side by side, each in a process of its own."""
    # `spawn`: the parent runs an event loop and threads, which a fork would copy.
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    loop = asyncio.get_running_loop()
    try:
        before, after = await asyncio.gather(
            loop.run_in_executor(pool, replay_run, list(items), old, list(overrides)),
            loop.run_in_executor(pool, replay_run, list(items), new, list(overrides)))
    finally:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
    return before, after


@dataclass(frozen=True)
class Report:
    """A what-if's answer: what was replayed, and the difference."""

    start: dt.datetime
    end: dt.datetime
    days: int
    traffic: Traffic
    diff: WhatIf
    same: bool                   # the changed policy is the one in force: nothing replayed

    def as_json(self) -> dict[str, Any]:
        shown = self.traffic.messages
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat(),
                       "days": self.days},
            "same_policy": self.same,
            "replayed": {"messages": len(shown), "acks": self.traffic.acks,
                         "overrides": len(self.traffic.overrides)},
            "left_out": {"redacted": self.traffic.redacted,
                         "unreadable": self.traffic.unreadable,
                         "beyond_limit": self.traffic.beyond_limit},
            **self.diff.as_json(),
            "messages": [{**c.as_json(), **({"stored": shown[c.message].as_json()}
                                            if c.message in shown else {})}
                         for c in self.diff.messages]}


def report(traffic: Traffic, days: int, old: Run, new: Run) -> Report:
    return Report(traffic.start, traffic.end, days, traffic, compare(old, new), same=False)


def nothing() -> Run:
    """The replay of no traffic."""
    return Run((), ())


def unchanged(traffic: Traffic, days: int) -> Report:
    """The answer when the changed policy is the policy in force: no difference, by
    construction (nothing is replayed)."""
    return Report(traffic.start, traffic.end, days, traffic, compare(nothing(), nothing()),
                  same=True)
