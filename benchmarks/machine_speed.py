"""How fast this machine runs plain Python right now, to read benchmark figures against.

The build machine is a shared virtual machine whose speed varies from day to day: the
same commit's engine benchmark has measured 22,000 decisions/s on one day and 5,250 on
another, with the machine otherwise idle. Every benchmark prints this probe next to its
figures, so that runs of different days can be compared (a lower probe is a faster
machine; see docs/performance.md for the probe next to each recorded figure).
"""

from __future__ import annotations

import time


def python_loop_seconds(additions: int = 5_000_000, tries: int = 3) -> float:
    """Best of `tries` timings of a loop of `additions` integer additions, in seconds."""
    best = float("inf")
    for _ in range(tries):
        began = time.perf_counter()
        total = 0
        for number in range(additions):
            total += number
        best = min(best, time.perf_counter() - began)
    return round(best, 3)


def describe(seconds: float) -> str:
    """One line for a benchmark's report."""
    return f"machine speed probe: 5M Python additions in {seconds:.3f} s (lower is faster)"
