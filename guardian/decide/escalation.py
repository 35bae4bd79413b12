"""The escalation plan of a page: the team's chain unrolled (repeats included), each step
resolved to the people it would reach at the instant it would fire.

- `team_on_call`: the team's on-call set then (they may be paged even in quiet hours).
- `team_lead`, `person`: that person, if on duty or on call then; otherwise the step is
  skipped (an off-duty lead is not woken: only the on-call person is).
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
             at: dt.datetime) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """(people, why skipped, sources) for one step at `at`."""
    team = policy.team_index[team_id]
    if step.who == "team_on_call":
        people = avail.team(team_id, at, "on_call")
        if people:
            return (tuple(sorted(people)), None,
                    tuple(str(s) for s in avail.sources(team_id, at, "on_call")))
        why = ("has no on-call rotation" if team.on_call is None
               else f"has no one on call in rotation {team.on_call} then")
        return (), f"team {team_id} {why}", ()
    if step.who == "last_resort":
        assert policy.escalation is not None
        return (policy.escalation.last_resort,), None, ("escalation:last_resort",)
    person = team.lead if step.who == "team_lead" else step.person
    if person is None:
        return (), f"team {team_id} has no lead", ()
    if avail.on_call(person, at):
        return (person,), None, ("on_call",)
    if avail.on_duty(person, at):
        return (person,), None, ("on_duty",)
    state = "in quiet hours" if avail.quiet(person, at) else "off duty"
    return (), (f"{person} is {state} at {local_time(policy, person, at)} and not on call: "
                "not contacted"), ()


def plan_for(policy: Policy, avail: Availability, team_id: str, now: dt.datetime
             ) -> EscalationPlan:
    escalation = policy.escalation
    if escalation is None:
        # No chains in the policy: the team's on-call people, once, with no escalation.
        on_call = tuple(sorted(avail.team(team_id, now, "on_call")))
        only = PlanStep(0, 0, "team_on_call", on_call, now, 0,
                        None if on_call else f"team {team_id} has no one on call",
                        tuple(str(s) for s in avail.sources(team_id, now, "on_call")))
        return EscalationPlan(None, team_id, (only,), None, None)
    team = policy.team_index[team_id]
    chain_id = team.escalation or escalation.default_chain
    chain = next(c for c in escalation.chains if c.id == chain_id)
    at = now
    steps: list[PlanStep] = []
    for round_ in range(chain.repeat + 1):
        for index, step in enumerate(chain.steps):
            people, skipped, sources = _resolve(policy, avail, team_id, step, at)
            steps.append(PlanStep(round_, index, step.who, people, at, step.delay_minutes,
                                  skipped, sources))
            if people:
                at += dt.timedelta(minutes=step.delay_minutes)
    return EscalationPlan(chain_id, team_id, tuple(steps), escalation.last_resort, at)
