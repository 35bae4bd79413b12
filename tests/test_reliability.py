"""The reliability suite: `guardian serve` and `guardian worker` SIGKILLed at random
moments under load, on both databases (tests/chaos.py). The figures of a larger run are in
docs/operations.md (`benchmarks/reliability.py`).

A channel down for longer than all its retries and then back is
tests/notify/test_sender.py::test_a_channel_down_for_hours_then_back_gets_everything_once_in_order;
a policy broken at start and then fixed is
tests/engine/test_waiting.py::test_a_policy_broken_at_start_then_fixed_loses_nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests.chaos import ChaosConfig, run_chaos
from tests.conftest import Database


async def test_processes_killed_under_load_lose_nothing_and_do_nothing_twice(
        database: Database, tmp_path: Path) -> None:
    report = await run_chaos(ChaosConfig(database_url=database.url, workdir=tmp_path,
                                         messages=300, kills=6, rate=40.0))
    print("\n".join(report.lines()))
    assert report.kills == {"serve": 3, "worker": 3}, report.lines()
    assert report.accepted == report.messages
    assert (report.lost, report.stuck, report.parked) == (0, 0, 0), report.lines()
    assert report.decided_twice == 0, report.lines()
    assert report.notifications.get("sent", 0) >= report.messages * 0.8, report.lines()
    assert set(report.notifications) <= {"sent"}, report.lines()
    # Every notification marked sent arrived; a repeat (a send whose answer died with its
    # process) carries the same idempotency key, so the receiver drops it: at most the
    # sends in flight at each kill.
    assert report.undelivered == 0 and not report.errors, report.lines()
    assert report.sent_twice <= 4 * sum(report.kills.values()), report.lines()
