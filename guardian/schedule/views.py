"""Who is on duty, as plain data for the API and the CLI (JSON), with the reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from guardian.policy.model import Policy
from guardian.schedule.duty import Shift, on_call, on_duty
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
