"""Who is on duty, as plain data for the API and the CLI (JSON), with the reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from guardian.policy.model import Policy
from guardian.schedule.duty import Shift, Source, on_call, on_duty, team_shifts
from guardian.schedule.overrides import Override


def names_of(policy: Policy, people: frozenset[str]) -> list[dict[str, str]]:
    staff = policy.people
    return [{"id": p, "name": staff[p].name if p in staff else p} for p in sorted(people)]


def who_is_on(policy: Policy, team_id: str, at: dt.datetime,
              overrides: Sequence[Override]) -> dict[str, Any]:
    """On duty and on call for one team at `at`, with the reasons (sources)."""
    duty = on_duty(policy, team_id, at, overrides)
    call = on_call(policy, team_id, at, overrides)
    return {
        "team": team_id,
        "at": at.astimezone(dt.UTC).isoformat(),
        "on_duty": names_of(policy, duty.people),
        "on_duty_sources": [str(s) for s in duty.sources],
        "on_call": names_of(policy, call.people),
        "on_call_sources": [str(s) for s in call.sources],
        # A period with no one is reported, never hidden.
        "gap": duty.gap and call.gap,
    }


def shift_json(policy: Policy, shift: Shift) -> dict[str, Any]:
    return {"start": shift.start.astimezone(dt.UTC).isoformat(),
            "end": shift.end.astimezone(dt.UTC).isoformat(),
            "people": names_of(policy, shift.people), "sources": [str(s) for s in shift.sources],
            "gap": shift.gap}


@dataclass(frozen=True)
class PersonShift:
    """A stretch during which one person is on duty or on call for one team."""

    team: str
    role: Literal["duty", "on_call"]
    start: dt.datetime
    end: dt.datetime
    sources: tuple[Source, ...]


def person_shifts(policy: Policy, person: str, start: dt.datetime, end: dt.datetime,
                  overrides: Sequence[Override] = ()) -> list[PersonShift]:
    """`person`'s shifts in every team and both roles over [start, end), by start; a
    team's consecutive shifts that keep them on (someone else joins or leaves) are one."""
    found: list[PersonShift] = []
    for team in policy.teams:
        for role in ("duty", "on_call"):
            mine: list[PersonShift] = []
            for shift in team_shifts(policy, team.id, start, end, role=role,
                                     overrides=overrides):
                if person not in shift.people:
                    continue
                if mine and mine[-1].end == shift.start:
                    last = mine.pop()
                    sources = last.sources + tuple(s for s in shift.sources
                                                   if s not in last.sources)
                    mine.append(PersonShift(team.id, last.role, last.start, shift.end,
                                            sources))
                else:
                    mine.append(PersonShift(team.id, role, shift.start,
                                            shift.end, shift.sources))
            found.extend(mine)
    return sorted(found, key=lambda s: (s.start, s.team, s.role))
