"""How fast this machine runs Python right now, to read benchmark figures against.

The build machine is a shared virtual machine whose speed varies from day to day: the
same commit's engine benchmark measured 18,400 decisions/s in the morning of 2026-12-05
and 5,300 in the evening, the machine otherwise idle. A tight loop ran at the same speed
both times; what had slowed down was memory: reads scattered over tens of megabytes, as
the engine's look-ups in the policy, the duty timeline and its dictionaries are. So the
probe times both, and every benchmark prints it next to its figures (lower is faster; see
docs/performance.md for the probe next to each recorded figure).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

LOOP_ADDITIONS = 5_000_000
MEMORY_ITEMS = 4_000_000  # a list of 4 M ints: about 140 MB with the int objects
MEMORY_READS = 2_000_000


@dataclass(frozen=True)
class Probe:
    loop_seconds: float  # 5 M integer additions in a local loop (the CPU alone)
    memory_seconds: float  # 2 M reads at random places of a 4 M-item list

    def describe(self) -> str:
        return (f"machine speed probe: 5M additions {self.loop_seconds:.3f} s, "
                f"2M scattered reads {self.memory_seconds:.3f} s (lower is faster)")

    def to_json(self) -> dict[str, float]:
        return {"loop_seconds": self.loop_seconds, "memory_seconds": self.memory_seconds}


def probe(tries: int = 3) -> Probe:
    """Best of `tries` timings of each part."""
    loop = memory = float("inf")
    for _ in range(tries):
        began = time.perf_counter()
        total = 0
        for number in range(LOOP_ADDITIONS):
            total += number
        loop = min(loop, time.perf_counter() - began)
    items = list(range(MEMORY_ITEMS))
    where = random.Random(1).choices(range(MEMORY_ITEMS), k=MEMORY_READS)
    for _ in range(tries):
        began = time.perf_counter()
        total = 0
        for index in where:
            total += items[index]
        memory = min(memory, time.perf_counter() - began)
    return Probe(round(loop, 3), round(memory, 3))
