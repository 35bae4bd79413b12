"""Swaps and overrides tell the people concerned, in the transaction that changes them
(the API and `guardian simulate` alike), and say who a change keeps on call too long."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.notify import queue
from guardian.notify.compose import for_schedule
from guardian.policy.model import Policy
from guardian.schedule.fairness import LongRun, long_runs
from guardian.schedule.overrides import Override
from guardian.storage.models import DutyOverride

# (event, person told, by, other)
Notice = tuple[str, str, str, str | None]


def created_notices(kind: str, person: str, replaces: str | None) -> list[Notice]:
    """Who HR's new override concerns: the person it adds or removes; both of a
    replacement."""
    if kind == "replace":
        return [("override_replacing", person, "hr", replaces),
                ("override_replaced", replaces or "", "hr", person)]
    return [("override_added" if kind == "add" else "override_removed", person, "hr", None)]


async def tell(conn: AsyncConnection, override: DutyOverride, notices: Sequence[Notice],
               policy: Policy, now: dt.datetime, base_url: str) -> None:
    """Queue each notice about `override`: on the person's channels, outside their quiet
    hours (the notifier's send-time rules)."""
    for event, person, by, other in notices:
        if person not in policy.people:
            continue
        await queue.put(conn=conn, planned=for_schedule(
            event, person, override_id=override.id or 0, team=override.team,
            start=override.starts_at, end=override.ends_at, by=by, other=other,
            policy=policy, now=now, base_url=base_url))


def on_call_runs(policy: Policy, now: dt.datetime, overrides: Sequence[Override],
                 people: Sequence[str]) -> list[LongRun]:
    """Who of `people` the rotations and `overrides` keep on call for more weeks running
    than `on_call_limits.max_consecutive_weeks`, in the weeks ahead."""
    limit = policy.on_call_limits.max_consecutive_weeks
    weeks = max(8, 2 * limit + 2)
    return [run for run in long_runs(policy, now, weeks, limit, overrides)
            if run.person in people]


def on_call_warnings(policy: Policy, now: dt.datetime, overrides: Sequence[Override],
                     people: Sequence[str]) -> list[str]:
    """`on_call_runs` in the words of `guardian policies check` (the API's `warnings`)."""
    limit = policy.on_call_limits.max_consecutive_weeks
    return [run.sentence(policy, limit) for run in on_call_runs(policy, now, overrides, people)]
