"""The engine's loop (`guardian.engine.loop`), driven with small jobs written here: busy
jobs run again at once, idle ones wait for the poll or a wake-up (none is lost), bursts
gather, failures back off and recover, stopping and cancelling close a `Lifecycle` job,
and the `guardian_job_*` metrics count per job.

No test measures how long something took: rounds are counted, and waiting is bounded only
by generous limits (a poll of an hour, a round expected within five seconds).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import pytest

from guardian import metrics
from guardian.engine.loop import Job, Lifecycle, Loop, LoopConfig

HOUR = 3600.0
WITHIN = 5.0          # a round that should come at once comes well within this
_names = itertools.count()


def job_name(what: str) -> str:
    """A name of its own per job, so that metrics from other tests do not mix in."""
    return f"test-{what}-{next(_names)}"


class Boom(RuntimeError):
    """What a failing round raises."""


class Scripted:
    """A job whose rounds answer from a script (work done, or an exception to raise), then
    `then` for ever. It counts its rounds and can be held inside one."""

    def __init__(self, script: Iterable[int | Exception] = (), then: int = 0,
                 name: str = "scripted") -> None:
        self.name = job_name(name)
        self.script = list(script)
        self.then = then
        self.rounds = 0
        self.hold: asyncio.Event | None = None     # when set up, a round waits for it
        self.entered = asyncio.Event()             # a round has begun
        self._ran = asyncio.Event()

    async def run_once(self) -> int:
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        self.rounds += 1
        self._ran.set()
        answer = self.script.pop(0) if self.script else self.then
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def reached(self, rounds: int) -> None:
        """Until `rounds` rounds have run (bounded by WITHIN)."""
        async def wait() -> None:
            while self.rounds < rounds:
                self._ran.clear()
                await self._ran.wait()
        await asyncio.wait_for(wait(), WITHIN)


class Resourceful(Scripted):
    """A `Lifecycle` job: records what the loop tells it, in order."""

    def __init__(self, script: Iterable[int | Exception] = (), then: int = 0) -> None:
        super().__init__(script, then, name="resourceful")
        self.events: list[str] = []
        self.wake: Callable[[], None] | None = None

    async def start(self, wake: Callable[[], None]) -> None:
        self.events.append("start")
        self.wake = wake

    async def run_once(self) -> int:
        self.events.append("round")
        return await super().run_once()

    def stopping(self) -> None:
        self.events.append("stopping")

    async def close(self) -> None:
        self.events.append("close")


async def settle() -> None:
    """Let everything that is ready run (a loop that were going to start a round would)."""
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)


@asynccontextmanager
async def running(loop: Loop) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(loop.run())
    try:
        yield task
    finally:
        if not task.done():
            loop.stop()
            await asyncio.wait_for(task, WITHIN)


def sample(name: str, job: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, {"job": job}) or 0.0


# --- the protocol ---------------------------------------------------------------------------

def test_only_a_job_with_the_hooks_is_a_lifecycle() -> None:
    plain: Job = Scripted()
    assert not isinstance(plain, Lifecycle)
    assert isinstance(Resourceful(), Lifecycle)
    assert Loop(plain).name == plain.name


# --- busy, idle, wake-ups -------------------------------------------------------------------

async def test_a_busy_job_runs_again_at_once_and_then_waits_for_the_poll() -> None:
    job = Scripted([5, 2, 1])                       # then 0: nothing more to do
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    async with running(loop):
        await job.reached(4)                        # three busy rounds and the idle one
        await settle()
        assert job.rounds == 4                      # idle now: the next is an hour away


async def test_an_idle_job_runs_again_when_the_poll_comes_round() -> None:
    job = Scripted()
    loop = Loop(job, LoopConfig(poll_seconds=0.01))
    async with running(loop):
        await job.reached(3)


async def test_wake_runs_a_round_at_once_even_with_an_hours_poll() -> None:
    job = Scripted()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    async with running(loop):
        await job.reached(1)
        await settle()
        assert job.rounds == 1
        loop.wake()
        await job.reached(2)
        await settle()
        assert job.rounds == 2                      # one wake-up, one round


async def test_a_wake_up_during_a_round_is_not_lost() -> None:
    job = Scripted()
    job.hold = asyncio.Event()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    async with running(loop):
        await asyncio.wait_for(job.entered.wait(), WITHIN)
        loop.wake()                                 # work committed while round 1 runs
        job.hold.set()
        await job.reached(2)                        # not an hour later
        await settle()
        assert job.rounds == 2


async def test_gather_seconds_lets_a_burst_arrive_before_the_round() -> None:
    inbox: list[str] = []
    batches: list[list[str]] = []

    class Batching(Scripted):
        async def run_once(self) -> int:
            await super().run_once()
            batches.append(inbox[:])
            inbox.clear()
            return 0        # as an idle round: the next needs the poll or a wake-up

    job = Batching()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR, gather_seconds=1.0))
    async with running(loop):
        await job.reached(1)
        inbox.append("a")
        loop.wake()
        for _ in range(20):                         # the loop hears the wake-up...
            await asyncio.sleep(0)
        inbox.extend(["b", "c"])                    # ...and the rest of the burst follows
        await job.reached(2)
        await settle()
    assert batches == [[], ["a", "b", "c"]]


async def test_stop_during_gathering_ends_the_loop_without_another_round() -> None:
    job = Scripted()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR, gather_seconds=HOUR))
    async with running(loop) as task:
        await job.reached(1)
        loop.wake()
        await settle()
        loop.stop()
        await asyncio.wait_for(task, WITHIN)
    assert job.rounds == 1


# --- failures -------------------------------------------------------------------------------

@pytest.mark.parametrize(("poll", "cap", "expected"), [
    (1.0, 30.0, [1.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]),
    (0.5, 3.0, [0.5, 0.5, 1.0, 2.0, 3.0, 3.0]),
    (10.0, 1.0, [10.0, 10.0, 10.0]),                # never shorter than the poll
])
def test_back_off_doubles_from_the_poll_up_to_the_cap(poll: float, cap: float,
                                                      expected: list[float]) -> None:
    loop = Loop(Scripted(), LoopConfig(poll_seconds=poll, max_backoff_seconds=cap))
    seen = []
    for failures in range(len(expected)):
        loop.failures = failures
        seen.append(loop._backoff())
    assert seen == expected


async def test_failing_rounds_back_off_and_recover() -> None:
    seen: list[tuple[int, float]] = []          # (failures, back-off) as each round begins

    class Watched(Scripted):
        async def run_once(self) -> int:
            seen.append((loop.failures, loop._backoff()))
            return await super().run_once()

    job = Watched([Boom("db down"), Boom("db down"), Boom("db down"), 4])
    loop = Loop(job, LoopConfig(poll_seconds=0.01, max_backoff_seconds=0.02))
    async with running(loop):
        await job.reached(5)                        # three failures, the work, then idle
        assert loop.failures == 0
        assert loop._backoff() == 0.01              # back to the plain poll
    assert seen[:5] == [(0, 0.01), (1, 0.01), (2, 0.02), (3, 0.02), (0, 0.01)]
    assert sample("guardian_job_errors_total", job.name) == 3
    assert sample("guardian_job_work_total", job.name) == 4


async def test_a_wake_up_does_not_cut_the_back_off_short() -> None:
    job = Scripted([Boom("db down")])
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    async with running(loop) as task:
        await job.reached(1)
        await settle()
        assert loop.failures == 1
        assert loop._backoff() == HOUR
        for _ in range(3):
            loop.wake()
            await settle()
        assert job.rounds == 1                      # still backing off
        loop.stop()                                 # but a stop ends the back-off at once
        await asyncio.wait_for(task, WITHIN)
    assert job.rounds == 1


# --- stopping and the lifecycle -------------------------------------------------------------

async def test_stop_ends_a_sleeping_loop_promptly_and_tells_the_job() -> None:
    job = Resourceful()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    async with running(loop) as task:
        await job.reached(1)
        await settle()
        assert not loop.stopping
        loop.stop()
        assert loop.stopping
        await asyncio.wait_for(task, WITHIN)
    assert job.events == ["start", "round", "stopping", "close"]


async def test_stop_during_a_busy_round_ends_after_that_round() -> None:
    job = Scripted(then=1)                          # always busy
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    job.hold = asyncio.Event()
    async with running(loop) as task:
        await asyncio.wait_for(job.entered.wait(), WITHIN)
        loop.stop()
        job.hold.set()
        await asyncio.wait_for(task, WITHIN)
    assert job.rounds == 1


async def test_a_lifecycle_job_is_started_before_its_first_round_and_can_wake_the_loop(
) -> None:
    job = Resourceful()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    async with running(loop):
        await job.reached(1)
        assert job.events == ["start", "round"]
        assert job.wake is not None
        await settle()
        job.wake()                                  # as a LISTEN or an MQTT message would
        await job.reached(2)
    assert job.events == ["start", "round", "round", "stopping", "close"]


async def test_a_cancelled_loop_closes_its_job_while_sleeping() -> None:
    job = Resourceful()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    task = asyncio.create_task(loop.run())
    await job.reached(1)
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WITHIN)
    assert job.events == ["start", "round", "close"]


async def test_a_cancelled_loop_closes_its_job_in_the_middle_of_a_round() -> None:
    job = Resourceful()
    job.hold = asyncio.Event()
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    task = asyncio.create_task(loop.run())
    await asyncio.wait_for(job.entered.wait(), WITHIN)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WITHIN)
    assert job.events == ["start", "round", "close"]
    assert job.rounds == 0                          # the round never finished


async def test_a_failing_round_does_not_skip_close() -> None:
    job = Resourceful([Boom("broken")])
    loop = Loop(job, LoopConfig(poll_seconds=HOUR))
    async with running(loop):
        await job.reached(1)
        await settle()
    assert job.events == ["start", "round", "stopping", "close"]


# --- one-shot runs --------------------------------------------------------------------------

async def test_run_until_idle_adds_up_the_work_until_a_round_does_nothing() -> None:
    job = Scripted([3, 2, 0, 7])
    assert await Loop(job).run_until_idle() == 5
    assert job.rounds == 3                          # the 7 was never asked for


async def test_run_until_idle_stops_at_max_rounds() -> None:
    job = Scripted(then=2)
    assert await Loop(job).run_until_idle(max_rounds=4) == 8
    assert job.rounds == 4


# --- metrics --------------------------------------------------------------------------------

async def test_job_metrics_count_work_errors_and_rounds_per_job() -> None:
    busy = Scripted([3, 4, Boom("once"), 5], name="busy")
    quiet = Scripted(name="quiet")
    loops = [Loop(busy, LoopConfig(poll_seconds=0.01)), Loop(quiet, LoopConfig(poll_seconds=HOUR))]
    async with running(loops[0]), running(loops[1]):
        await busy.reached(5)                       # 3, 4, failure, 5, then idle
        await quiet.reached(1)
        await settle()
    assert sample("guardian_job_work_total", busy.name) == 12
    assert sample("guardian_job_errors_total", busy.name) == 1
    assert sample("guardian_job_round_seconds_count", busy.name) == busy.rounds
    assert sample("guardian_job_work_total", quiet.name) == 0
    assert sample("guardian_job_errors_total", quiet.name) == 0
    assert sample("guardian_job_round_seconds_count", quiet.name) == quiet.rounds == 1
