"""The reliability run: `guardian serve` and `guardian worker` SIGKILLed at random moments
while messages stream in, on SQLite and on PostgreSQL; then what was lost, stuck, parked,
decided twice, sent twice and never delivered (tests/chaos.py does the work; the test
suite runs the same harness small, tests/test_reliability.py).

    .venv/bin/python -m benchmarks.reliability [--messages 3000] [--kills 24] [--rate 80]
        [--seed 1] [--databases sqlite,postgresql] [--json results.json]

Loopback only. PostgreSQL runs get a fresh database of their own (dropped afterwards);
SQLite runs a file in a temporary directory. The figures are in docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from benchmarks.ingest import machine_info
from benchmarks.pipeline_latency import LatencyDatabase
from tests.chaos import ChaosConfig, ChaosReport, run_chaos

POSTGRES = os.environ.get("GUARDIAN_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")


def _run(kind: str, args: argparse.Namespace, workdir: Path) -> ChaosReport:
    def config(url: str) -> ChaosConfig:
        return ChaosConfig(database_url=url, workdir=workdir, messages=args.messages,
                           kills=args.kills, rate=args.rate, seed=args.seed,
                           drain_seconds=args.drain_seconds)

    if kind == "sqlite":
        return asyncio.run(run_chaos(config(f"sqlite:///{workdir / 'guardian.db'}")))
    database = LatencyDatabase(POSTGRES, f"guardian_chaos_{secrets.token_hex(4)}")
    database.create()
    try:
        return asyncio.run(run_chaos(config(database.url)))
    finally:
        database.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--rate", type=float, default=80.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-seconds", type=float, default=180.0)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    reports = []
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix=f"guardian-chaos-{kind}-") as workdir:
            report = _run(kind, args, Path(workdir))
        print("\n".join(report.lines()), flush=True)
        reports.append(asdict(report))
    failed = [r for r in reports if r["lost"] or r["stuck"] or r["parked"]
              or r["decided_twice"] or r["undelivered"]]
    if args.json:
        args.json.write_text(json.dumps({"machine": machine_info(speed_probe=False),
                                         "args": {k: str(v) for k, v in vars(args).items()},
                                         "runs": reports}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
