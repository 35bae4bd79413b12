"""The notifications side of the engine: the sender's loops, and the jobs that fill the
outbox between decisions (digests when they fall due, messages moderators dismissed).

`concurrency` senders claim batches at once (the outbox's leases keep the claims apart),
so a slow channel does not hold up the next batch. `wake()` wakes them: call it after
committing a notification that should go at once (a page), so it is not left waiting for
the poll. A digest composed, or a dismissed message queued, wakes them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from guardian.engine.dismissed import DismissedDelivery
from guardian.engine.loop import Job, Loop, LoopConfig
from guardian.notify.digest import DigestComposer
from guardian.notify.sender import Sender

# Senders in flight per process. More than one pays when channels are slow to answer (two
# sent 1.3 times as fast as one to a channel answering in 100 ms) and costs when they are
# fast (half to three quarters as fast to a local one, most likely the sending threads and
# the event loop contending for the GIL); see docs/performance.md, "Notifications".
DEFAULT_CONCURRENCY = 1


@dataclass
class _ThenWake:
    """A job that, when a round did something, wakes the senders."""

    job: Job
    wake: Callable[[], None]

    @property
    def name(self) -> str:
        return self.job.name

    async def run_once(self) -> int:
        done = await self.job.run_once()
        if done:
            self.wake()
        return done


class Notifier:
    def __init__(self, sender: Sender, digests: DigestComposer, *,
                 poll_seconds: float = 0.5, dismissed: DismissedDelivery | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.sender = sender
        self.concurrency = concurrency
        config = LoopConfig(poll_seconds=poll_seconds)
        self.senders = [Loop(sender, config) for _ in range(concurrency)]
        fillers: list[Job] = [digests] if dismissed is None else [dismissed, digests]
        self._fillers = [_ThenWake(job, self.wake) for job in fillers]
        self.loops = [*(Loop(job, config) for job in self._fillers), *self.senders]

    def wake(self) -> None:
        for loop in self.senders:
            loop.wake()

    def stop(self) -> None:
        for loop in self.loops:
            loop.stop()

    async def run(self) -> None:
        await asyncio.gather(*(loop.run() for loop in self.loops))

    async def run_once(self) -> int:
        """One round of each job, fillers first (tests and one-shot use); returns the
        notifications the sender claimed."""
        for job in self._fillers:
            await job.run_once()
        return await self.sender.run_once()
