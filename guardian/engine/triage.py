"""Triage of incoming messages for every door (the API, webhooks, Open311, connectors): the
pure rules of `guardian.decide.triage` with the policy in force and who is on call now.

Who is on call comes from a duty timeline that is rebuilt about once a minute (a read of
the overrides and a build in a thread). Ingest never waits for that: the rebuild runs in
the background and triage uses the last availability built, which is at most a couple of
minutes old (priority is only an order; the decision reads a fresh timeline)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence

from guardian.decide.classify import router_for
from guardian.decide.triage import triage
from guardian.policy.model import Policy
from guardian.schedule.availability import Availability
from guardian.schemas import MessageIn
from guardian.types import DEFAULT_PRIORITY

Duty = Callable[[dt.datetime], Awaitable[Availability | None]]
log = logging.getLogger(__name__)
# An availability older than this is refreshed in the background (the timeline's own
# rebuild period is a minute).
REFRESH_AFTER = dt.timedelta(seconds=60)


class Triage:
    """`priorities(messages, now)`: each message's claim priority. Without a policy loaded
    every message is `normal`; without `duty` (or before a timeline can be built) mentions
    of staff on call are not looked at."""

    def __init__(self, policy: Callable[[], Policy | None], duty: Duty | None = None) -> None:
        self._policy = policy
        self._duty = duty
        self._avail: tuple[dt.datetime, Availability] | None = None
        self._refreshing: asyncio.Task[None] | None = None

    def _availability(self, now: dt.datetime) -> Availability | None:
        """The last availability built (None before the first), refreshed in the background
        when it is old or `now` left the range it was built for."""
        known = self._avail
        stale = known is None or not known[0] <= now < known[0] + REFRESH_AFTER
        if stale and self._duty is not None and (self._refreshing is None
                                                 or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self._refresh(now),
                                                   name="guardian-triage-duty")
        return known[1] if known is not None else None

    async def _refresh(self, now: dt.datetime) -> None:
        assert self._duty is not None
        try:
            avail = await self._duty(now)
        except Exception:  # the database away: triage goes on without on-call mentions
            log.warning("triage: cannot read who is on call; mentions are not weighed",
                        exc_info=True)
            return
        if avail is not None:
            self._avail = (now, avail)

    async def warm(self, now: dt.datetime) -> None:
        """Build the availability now (tests; a process that wants it before its first
        message)."""
        if self._duty is not None:
            await self._refresh(now)

    async def close(self) -> None:
        """Stop a refresh in flight (the app's shutdown)."""
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing

    async def priorities(self, messages: Sequence[MessageIn], now: dt.datetime) -> list[int]:
        policy = self._policy()
        if policy is None:
            return [DEFAULT_PRIORITY] * len(messages)
        router = router_for(policy)
        on_call: Callable[[str], bool] | None = None
        # Only when a message names someone: most do not.
        if self._duty is not None and any(m.mentions or "@" in m.text for m in messages):
            avail = self._availability(now)
            if avail is not None:
                def on_call(staff: str, avail: Availability = avail) -> bool:
                    return avail.on_call(staff, now)
        return [triage(router, source=m.source, text=m.text, mentions=m.mentions,
                       on_call=on_call).priority for m in messages]
