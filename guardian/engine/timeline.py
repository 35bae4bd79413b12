"""The duty timeline in force: the current policy and the overrides HR and staff keep in
the database, built into a `Timeline` and rebuilt when either may have changed."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy.model import Policy
from guardian.schedule.availability import Availability
from guardian.schedule.overrides import Override
from guardian.schedule.timeline import Timeline
from guardian.storage.overrides import active_overrides

# Timelines cover this much ahead (digests wait at most for the next working period) and
# are rebuilt this often, so new overrides take effect within a minute.
TIMELINE_AHEAD = dt.timedelta(days=8)
TIMELINE_BEHIND = dt.timedelta(hours=1)
TIMELINE_MAX_AGE = dt.timedelta(seconds=60)
@dataclass
class _Built:
    policy: Policy
    timeline: Timeline
    overrides: tuple[Override, ...]
    built_at: dt.datetime


class DutyTimeline:
    """The timeline of the current policy and overrides, rebuilt when either may have
    changed (policy reloaded, a minute passed) or when `now` nears its end."""

    def __init__(self, engine: AsyncEngine, policy: Callable[[], Policy | None]) -> None:
        self._engine = engine
        self._policy = policy
        self._built: _Built | None = None
        self._avail: tuple[_Built, Availability] | None = None

    async def get(self, now: dt.datetime) -> _Built | None:
        policy = self._policy()
        if policy is None:
            return None
        built = self._built
        if (built is None or built.policy is not policy
                or not built.built_at <= now < built.built_at + TIMELINE_MAX_AGE):
            start, end = now - TIMELINE_BEHIND, now + TIMELINE_AHEAD
            overrides = tuple(await active_overrides(self._engine, start=start, end=end))
            timeline = await asyncio.to_thread(Timeline.build, policy, start, end,
                                               overrides=overrides)
            built = self._built = _Built(policy, timeline, overrides, now)
        return built

    async def availability(self, now: dt.datetime) -> Availability | None:
        """Who is on duty, in quiet hours, and when next, around `now` (the notifier's
        send-time checks and digests)."""
        built = await self.get(now)
        if built is None:
            return None
        if self._avail is None or self._avail[0] is not built:
            self._avail = (built, Availability(built.policy, built.timeline, built.overrides))
        return self._avail[1]
