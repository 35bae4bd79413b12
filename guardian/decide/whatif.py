"""The policy what-if, compared: two replays of the same stored traffic through the live
engine (guardian.engine.whatif runs them: one under the policy in force, one under a
changed policy) and what differs between them: who is contacted when, after hours and in
quiet hours, pages and digests per person, messages that reach no one, and each message
whose contacts changed, with the times.

Pure: a replay's deliveries and decisions in, plain data out; no I/O, no clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from guardian.decide.decision import Decision
from guardian.schedule.availability import Availability

# One delivery of a replay, as `Simulation.deliveries` records it: sent at, recipient,
# notification kind, what it is about (a message's key; a digest: its items' keys joined
# by commas).
Delivery = tuple[dt.datetime, str, str, str]
# The figures compared, in the order they are shown.
METRICS = ("contacts", "after_hours", "quiet_hours", "pages", "waited", "unrouted")


@dataclass(frozen=True)
class Contact:
    """One notification that reached a person in a replay."""

    at: dt.datetime
    person: str
    kind: str                    # deliver, digest, page, storm_notice...
    messages: tuple[str, ...]    # the messages it is about (a digest: its items)
    after_hours: bool            # the person was not on duty then (or in quiet hours)
    quiet: bool                  # inside the person's quiet hours (a page to the on-call)


@dataclass(frozen=True)
class Route:
    """Where a replay's decision sent one message."""

    message: str
    category: str
    team: str | None
    unrouted: bool               # it reached no one: the safety net held it for review


@dataclass(frozen=True)
class Run:
    """One replay's outcome."""

    contacts: tuple[Contact, ...]
    routes: tuple[Route, ...]


def contacts_of(deliveries: Iterable[Delivery], availability: Availability
                ) -> tuple[Contact, ...]:
    """The deliveries judged by the run's own policy (and overrides): whether each came
    when its recipient was off duty, and whether inside their quiet hours."""
    people = availability.policy.people
    found = []
    for at, person, kind, about in sorted(deliveries):
        known = person in people
        found.append(Contact(
            at=at, person=person, kind=kind,
            messages=tuple(k for k in about.split(",") if k),
            after_hours=known and not availability.on_duty(person, at),
            quiet=known and availability.quiet(person, at)))
    return tuple(found)


def route_of(message: str, decision: Decision) -> Route:
    return Route(message=message, category=decision.category, team=decision.team,
                 unrouted=any(o.code == "unrouted" for o in decision.outcomes))


@dataclass(frozen=True)
class Pair:
    old: int
    new: int

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def as_json(self) -> dict[str, int]:
        return {"old": self.old, "new": self.new}


@dataclass(frozen=True)
class PersonRow:
    person: str
    contacts: Pair
    after_hours: Pair
    quiet_hours: Pair
    pages: Pair
    waited: Pair                 # messages that waited for their digest

    @property
    def changed(self) -> bool:
        return any(getattr(self, m).changed for m in METRICS if m != "unrouted")

    def as_json(self) -> dict[str, Any]:
        return {"person": self.person, "changed": self.changed,
                **{m: getattr(self, m).as_json() for m in METRICS if m != "unrouted"}}


@dataclass(frozen=True, order=True)
class Touch:
    """One contact about one message: when, whom, how."""

    at: dt.datetime
    person: str
    kind: str

    def as_json(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "person": self.person, "kind": self.kind}


@dataclass(frozen=True)
class MessageChange:
    message: str
    old: tuple[Touch, ...]
    new: tuple[Touch, ...]
    old_route: Route | None
    new_route: Route | None

    def as_json(self) -> dict[str, Any]:
        def route(found: Route | None) -> dict[str, Any] | None:
            return None if found is None else {
                "category": found.category, "team": found.team, "unrouted": found.unrouted}

        return {"message": self.message, "old": [t.as_json() for t in self.old],
                "new": [t.as_json() for t in self.new], "old_route": route(self.old_route),
                "new_route": route(self.new_route)}


@dataclass(frozen=True)
class WhatIf:
    totals: tuple[tuple[str, Pair], ...]   # METRICS, in order
    people: tuple[PersonRow, ...]          # everyone contacted in either run, by id
    messages: tuple[MessageChange, ...]    # whose contacts or route changed, in replay order

    def total(self, metric: str) -> Pair:
        return dict(self.totals)[metric]

    def person(self, person: str) -> PersonRow | None:
        return next((p for p in self.people if p.person == person), None)

    @property
    def changed(self) -> bool:
        return bool(self.messages) or any(p.changed for _, p in self.totals)

    def as_json(self) -> dict[str, Any]:
        return {"changed": self.changed,
                "totals": {m: p.as_json() for m, p in self.totals},
                "people": [p.as_json() for p in self.people],
                "messages": [m.as_json() for m in self.messages]}


def _figures(run: Run) -> dict[str, dict[str, int]]:
    """Per person, per metric (but `unrouted`), the run's counts."""
    per: dict[str, dict[str, int]] = {}
    for c in run.contacts:
        row = per.setdefault(c.person, dict.fromkeys(METRICS, 0))
        row["contacts"] += 1
        row["after_hours"] += c.after_hours
        row["quiet_hours"] += c.quiet
        row["pages"] += c.kind == "page"
        if c.kind == "digest":
            row["waited"] += len(c.messages)
    return per


def _touches(run: Run) -> dict[str, tuple[Touch, ...]]:
    found: dict[str, list[Touch]] = {}
    for c in run.contacts:
        for message in c.messages:
            found.setdefault(message, []).append(Touch(c.at, c.person, c.kind))
    return {m: tuple(sorted(t)) for m, t in found.items()}


def compare(old: Run, new: Run) -> WhatIf:
    """What changes from the replay under the policy in force (`old`) to the replay under
    the changed one (`new`)."""
    before, after = _figures(old), _figures(new)
    zero = dict.fromkeys(METRICS, 0)
    people = tuple(
        PersonRow(person, *(Pair(before.get(person, zero)[m], after.get(person, zero)[m])
                            for m in METRICS if m != "unrouted"))
        for person in sorted({*before, *after}))
    totals = [(m, Pair(sum(r[m] for r in before.values()), sum(r[m] for r in after.values())))
              for m in METRICS if m != "unrouted"]
    totals.append(("unrouted", Pair(sum(r.unrouted for r in old.routes),
                                    sum(r.unrouted for r in new.routes))))
    old_touch, new_touch = _touches(old), _touches(new)
    old_route = {r.message: r for r in old.routes}
    new_route = {r.message: r for r in new.routes}
    order = list(dict.fromkeys([*(r.message for r in old.routes),
                                *(r.message for r in new.routes),
                                *sorted({*old_touch, *new_touch})]))
    changes = []
    for message in order:
        was, now = old_touch.get(message, ()), new_touch.get(message, ())
        route_was, route_now = old_route.get(message), new_route.get(message)
        if was != now or _moved(route_was, route_now):
            changes.append(MessageChange(message, was, now, route_was, route_now))
    return WhatIf(totals=tuple(totals), people=people, messages=tuple(changes))


def _moved(old: Route | None, new: Route | None) -> bool:
    """Whether a message went elsewhere: another team, or no one where someone before."""
    if old is None or new is None:
        return old is not new
    return (old.team, old.unrouted) != (new.team, new.unrouted)
