"""The notifier loop every worker runs: deliver the messages moderators released, compose
the digests that are due, then send what the outbox holds, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from guardian.notify.digest import DigestComposer
from guardian.notify.sender import Sender

if TYPE_CHECKING:
    from guardian.release import Releaser

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, sender: Sender, digests: DigestComposer, *,
                 poll_seconds: float = 0.5, releaser: Releaser | None = None) -> None:
        self.sender = sender
        self.digests = digests
        self.releaser = releaser
        self._poll = poll_seconds
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run_once(self) -> int:
        """One round: releases, digests, then one batch of sends; returns notifications
        claimed."""
        now = self.sender.clock()
        if self.releaser is not None:
            await self.releaser.run_once(now)
        await self.digests.run_once(now)
        return await self.sender.run_once()

    async def run(self) -> None:
        while not self._stopping.is_set():
            busy = 0
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("notifier: error; retrying")
            if busy:
                continue  # more may be due: no sleep between full batches
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll)
