"""The escalation plan of a page: the team's chain unrolled (repeats included), each step
resolved to the people it would reach at the instant it would fire, with its reason.

- `team_on_call`: the team's on-call set then (they may be paged even in quiet hours).
- `team_lead`, `person`: that person. With `wake: always` (the default) they are paged
  whether or not they are on duty: HR wrote them into the chain to be woken, and the chain
  is HR's explicit exception to the right to disconnect. With `wake: if_available` the
  step is skipped when they are neither on duty nor on call. Someone on leave (an override
  that removes them from everything) is never woken: the step is skipped.
- `last_resort`: the policy's last-resort contact, always: HR named them for exactly the
  moment everything else has failed, so they count as on call for it.

A skipped step takes no time; a step that reaches someone waits its `delay_minutes` for an
acknowledgement. After the last step the chain is exhausted and the last-resort contact is
told (`exhausted_at`). When no step reaches anyone, the last-resort contact is paged at
once.
"""

from __future__ import annotations

import datetime as dt

from guardian.decide.decision import EscalationPlan, PlanStep
from guardian.policy.model import EscalationStep, Policy
from guardian.schedule.availability import Availability
from guardian.schedule.localtime import zone

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")


def local_time(policy: Policy, person: str | None, at: dt.datetime) -> str:
    """`at` on the wall clock of the person (the town's without one), for reasons, e.g.
    "Thu 26 Nov 07:30 Europe/Madrid" (by hand: strftime is the slow part of a decision)."""
    tz = policy.people[person].timezone if person in policy.people else policy.town.timezone
    local = at.astimezone(zone(tz))
    return (f"{_DAYS[local.weekday()]} {local.day:02d} {_MONTHS[local.month]} "
            f"{local.hour:02d}:{local.minute:02d} {tz}")


def _resolve(policy: Policy, avail: Availability, team_id: str, step: EscalationStep,
             at: dt.datetime) -> tuple[tuple[str, ...], str | None, tuple[str, ...], str]:
    """(people, why skipped, sources, reason) for one step at `at`."""
    team = policy.team_index[team_id]
    if step.who == "team_on_call":
        people = avail.team(team_id, at, "on_call")
        if people:
            sources = tuple(str(s) for s in avail.sources(team_id, at, "on_call"))
            return (tuple(sorted(people)), None, sources,
                    f"{', '.join(sorted(people))} on call in team {team_id} "
                    f"({', '.join(sources)})")
        why = ("has no on-call rotation" if team.on_call is None
               else f"has no one on call in rotation {team.on_call} then")
        return (), f"team {team_id} {why}", (), f"team {team_id} {why}"
    if step.who == "last_resort":
        assert policy.escalation is not None
        last = policy.escalation.last_resort
        return ((last,), None, ("escalation:last_resort",),
                f"{last} is the last-resort contact: always paged")
    person = team.lead if step.who == "team_lead" else step.person
    role = "the team lead" if step.who == "team_lead" else "named by the chain"
    if person is None:
        return (), f"team {team_id} has no lead", (), f"team {team_id} has no lead"
    leave = avail.on_leave(person, at)
    if leave is not None:
        # The reason of the override stays private (HR's): only that they are away.
        why = f"{person} ({role}) is on leave (override {leave.id}): not contacted"
        return (), why, (), why
    if avail.on_call(person, at):
        return (person,), None, ("on_call",), f"{person} ({role}) is on call"
    if avail.on_duty(person, at):
        return (person,), None, ("on_duty",), f"{person} ({role}) is on duty"
    state = "in quiet hours" if avail.quiet(person, at) else "off duty"
    # (The step's own `at` says when; a wall-clock time here would cost every page.)
    if step.wake == "always":
        return ((person,), None, ("chain:wake",),
                f"{person} ({role}) is {state} then: paged all the same, the chain names "
                "them (wake: always)")
    why = (f"{person} ({role}) is {state} then and not on call: not contacted "
           "(wake: if_available)")
    return (), why, (), why


def chain_people(policy: Policy, team_id: str) -> frozenset[str]:
    """Everyone the team's chain may page: its on-call rotation's members, the lead, the
    people its steps name and the last resort. Any of them may acknowledge the team's
    pages, at any step and at any time (they are the ones HR asked to answer)."""
    team = policy.team_index.get(team_id)
    if team is None:
        return frozenset()
    people: set[str] = set()
    rotation = policy.rotation_index.get(team.on_call) if team.on_call else None
    if rotation is not None:
        people.update(m for layer in rotation.layers for m in layer.members)
    escalation = policy.escalation
    if escalation is not None:
        people.add(escalation.last_resort)
        chain_id = team.escalation or escalation.default_chain
        for chain in escalation.chains:
            if chain.id != chain_id:
                continue
            for step in chain.steps:
                if step.who == "team_lead" and team.lead is not None:
                    people.add(team.lead)
                elif step.who == "person" and step.person is not None:
                    people.add(step.person)
    return frozenset(people)


def plan_for(policy: Policy, avail: Availability, team_id: str, now: dt.datetime
             ) -> EscalationPlan:
    escalation = policy.escalation
    if escalation is None:
        # No chains in the policy: the team's on-call people, once, with no escalation.
        on_call = tuple(sorted(avail.team(team_id, now, "on_call")))
        why = None if on_call else f"team {team_id} has no one on call"
        only = PlanStep(0, 0, "team_on_call", on_call, now, 0, why,
                        tuple(str(s) for s in avail.sources(team_id, now, "on_call")),
                        why or f"{', '.join(on_call)} on call in team {team_id}")
        return EscalationPlan(None, team_id, (only,), None, None)
    team = policy.team_index[team_id]
    chain_id = team.escalation or escalation.default_chain
    chain = next(c for c in escalation.chains if c.id == chain_id)
    at = now
    steps: list[PlanStep] = []
    for round_ in range(chain.repeat + 1):
        for index, step in enumerate(chain.steps):
            people, skipped, sources, reason = _resolve(policy, avail, team_id, step, at)
            steps.append(PlanStep(round_, index, step.who, people, at, step.delay_minutes,
                                  skipped, sources, reason))
            if people:
                at += dt.timedelta(minutes=step.delay_minutes)
    return EscalationPlan(chain_id, team_id, tuple(steps), escalation.last_resort, at)
