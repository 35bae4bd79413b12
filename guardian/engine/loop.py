"""One protocol for every background job, and one loop that runs it.

A job does one round of work when asked (`run_once`) and says how much it did; everything
around the round belongs to the loop: sleeping until the poll comes round or someone calls
`wake()`, letting a burst gather after a wake-up, backing off after errors, stopping, and
counting rounds, work, errors and time per job (`guardian_job_*` metrics). This is how
GoAlert's engine runs its processing modules: each module is a small `Updatable`, and one
cycle calls them all. Here each job has a loop of its own, so a slow channel never holds
up the pipeline, and a busy job runs its next round at once instead of waiting for a poll.

Jobs that hold something between rounds (a LISTEN connection, an MQTT session, leases)
also implement `Lifecycle`: the loop starts them before the first round, tells them when
it is stopping (so a long round can end early), and closes them after the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from guardian import metrics

log = logging.getLogger(__name__)


class Job(Protocol):
    """A kind of background work, done one round at a time."""

    @property
    def name(self) -> str:
        """The job's name in logs and in the `job` label of the metrics."""
        ...

    async def run_once(self) -> int:
        """Do one round; return how much work it did (0: nothing was due, so the loop
        sleeps until the next poll or a wake-up; more: the loop runs again at once)."""
        ...


@runtime_checkable
class Lifecycle(Protocol):
    """What a job that holds resources between rounds adds to `Job`."""

    async def start(self, wake: Callable[[], None]) -> None:
        """Before the first round; `wake` asks the loop for a round now (for a job that
        hears of new work itself, a PostgreSQL LISTEN or an MQTT subscription)."""
        ...

    def stopping(self) -> None:
        """The loop is stopping: a round in progress should finish soon."""
        ...

    async def close(self) -> None:
        """After the last round (also after a cancellation): hand back, disconnect."""
        ...


@dataclass(frozen=True)
class LoopConfig:
    poll_seconds: float = 0.5
    # After a wake-up, wait this long so that a burst arrives whole (one scoring batch).
    gather_seconds: float = 0.0
    # After a round fails: poll_seconds, doubled at each further failure, up to this.
    max_backoff_seconds: float = 30.0


class Loop:
    """Runs one job until `stop()`."""

    def __init__(self, job: Job, config: LoopConfig | None = None) -> None:
        self.job = job
        self.config = config or LoopConfig()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.failures = 0          # rounds failed in a row

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wake(self) -> None:
        """Run a round now rather than at the next poll (call it after the commit that
        made the work: before, a round would not see it)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current round; a sleeping loop stops at once."""
        self._stopping.set()
        self._wake.set()
        if isinstance(self.job, Lifecycle):
            self.job.stopping()

    async def run(self) -> None:
        job = self.job
        try:
            # Inside the `try`: a start that fails half-way is closed like any other.
            if isinstance(job, Lifecycle):
                await job.start(self.wake)
            log.debug("%s started", self.name)
            while not self._stopping.is_set():
                # Cleared before the round, never after: work committed while the round
                # runs wakes the next one instead of waiting for the poll.
                self._wake.clear()
                done = await self._round()
                if done == 0 and not self._stopping.is_set():
                    await self._idle()
        finally:
            if isinstance(job, Lifecycle):
                await job.close()
            log.debug("%s stopped", self.name)

    async def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Rounds until one does nothing (tests, simulations, one-shot commands); the work
        done in all."""
        total = 0
        for _ in range(max_rounds):
            done = await self.job.run_once()
            if done == 0:
                break
            total += done
        return total

    async def _round(self) -> int:
        name = self.name
        started = time.perf_counter()
        try:
            done = await self.job.run_once()
        except Exception:
            self.failures += 1
            metrics.JOB_ERRORS.labels(job=name).inc()
            log.exception("%s: round failed (%d in a row); retrying in %.1f s", name,
                          self.failures, self._backoff())
            return 0
        finally:
            metrics.JOB_SECONDS.labels(job=name).observe(time.perf_counter() - started)
        self.failures = 0
        if done:
            metrics.JOB_WORK.labels(job=name).inc(done)
        return done

    def _backoff(self) -> float:
        poll = self.config.poll_seconds
        if self.failures == 0:
            return poll
        return float(min(poll * 2 ** (self.failures - 1),
                         max(self.config.max_backoff_seconds, poll)))

    async def _idle(self) -> None:
        """Until the poll (or the back-off after a failure) has passed, or a wake-up."""
        if self.failures:
            # A failing job (the database is down, say) is not woken early: every wake-up
            # would be another failure.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._backoff())
            return
        try:
            await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)
        except TimeoutError:
            return
        if self.config.gather_seconds and not self._stopping.is_set():
            # Woken by new work: let the rest of a burst arrive (one model call scores a
            # batch far faster than one text at a time).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.config.gather_seconds)
