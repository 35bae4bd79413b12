"""The notifier loop every worker runs: deliver the messages moderators released, compose
the digests that are due, then send what the outbox holds, until told to stop.

With nothing to send, the loop sleeps until its next poll, or until `wake()`: call it
after committing a notification that should go at once (a page) and it is not left
waiting for the poll. While a backlog is being sent, releases and digests are composed
once a poll interval rather than before every batch. With `concurrency` above 1, that
many rounds run at once, each claiming a batch of its own (the outbox's leases keep the
claims apart), so a slow channel does not hold up the next batch; releases and digests
are composed by the first round only.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING

from guardian.notify.digest import DigestComposer
from guardian.notify.sender import Sender

if TYPE_CHECKING:
    from guardian.release import Releaser

log = logging.getLogger(__name__)

# Rounds in flight per notifier. More than one pays when channels are slow to answer (two
# rounds sent 1.3 times as fast as one to a channel answering in 100 ms) and costs when
# they are fast (half to three quarters as fast to a local one, most likely the sending
# threads and the event loop contending for the GIL); see docs/performance.md,
# "Notifications".
DEFAULT_CONCURRENCY = 1


class Notifier:
    def __init__(self, sender: Sender, digests: DigestComposer, *,
                 poll_seconds: float = 0.5, releaser: Releaser | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.sender = sender
        self.digests = digests
        self.releaser = releaser
        self.concurrency = concurrency
        self._poll = poll_seconds
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    def wake(self) -> None:
        """Look for due notifications now rather than at the next poll (call it after the
        commit that queued them: before, there is nothing to see yet)."""
        self._wake.set()

    async def run_once(self) -> int:
        """One round: releases, digests, then one batch of sends; returns notifications
        claimed."""
        now = self.sender.clock()
        if self.releaser is not None:
            await self.releaser.run_once(now)
        await self.digests.run_once(now)
        return await self.sender.run_once()

    async def run(self) -> None:
        await asyncio.gather(*(self._rounds(first=n == 0) for n in range(self.concurrency)))

    async def _rounds(self, *, first: bool) -> None:
        composed = -math.inf  # when the first round last looked for releases and digests
        while not self._stopping.is_set():
            busy = 0
            try:
                # Releases and digests once a poll interval, not before every batch of a
                # backlog (they are due by the minute).
                if first and time.monotonic() - composed >= self._poll:
                    composed = time.monotonic()
                    busy = await self.run_once()
                else:
                    busy = await self.sender.run_once()
            except Exception:
                log.exception("notifier: error; retrying")
            if busy:
                continue  # more may be due: no sleep between full batches
            await self._idle()

    async def _idle(self) -> None:
        """Until the poll interval has passed, `wake()` is called or the notifier stops."""
        waits = [asyncio.ensure_future(self._stopping.wait()),
                 asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        # Cleared before the next round claims: that round sees every commit woken for so
        # far, and a wake() from now on makes the following idle return at once.
        self._wake.clear()
