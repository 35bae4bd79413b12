"""Scale-out: messages decided per second with 1, 2 and 4 `guardian worker` processes
sharing one PostgreSQL, each with the production scorer's timing.

    .venv/bin/python -m benchmarks.scale_out [--workers 1,2,4] [--messages 3000]
        [--rate 150] [--pace sleep,cpu] [--json results.json]

For each pace and worker count: a fresh database, `guardian db upgrade`, the backlog of
`--messages` mild reports stored through the API (`guardian serve --no-worker`, which then
stays up as the API of a real deployment), then N `guardian worker` processes started at
once, each scoring with the stand-in of benchmarks/paced_scorer.py at `--rate` texts/s.
Decided per second = messages / (last decision - first claim), read from `stage_events`.

Two paces, because the answer depends on where the scorer's CPU is:

- `sleep`: the scorer's time is spent elsewhere, as when each worker runs on a host of its
  own: what is measured is the database and the pipeline's own work shared by N workers
  (claims with SKIP LOCKED, decisions, the outbox), i.e. how far adding machines goes.
- `cpu`: each text costs a fixed amount of CPU here (calibrated to 1/rate s on an idle
  core), as N workers on this one machine would: beyond the machine's cores (2 here), more
  workers cannot add anything.

The machine's cores, load average and speed probe are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from benchmarks.emergency import backlog_texts
from benchmarks.ingest import LOOPBACK, free_port, guardian, guardian_env, machine_info
from benchmarks.machine_speed import probe
from benchmarks.paced_scorer import calibrate
from benchmarks.pipeline_latency import LatencyDatabase, _wait_healthy

REPO = Path(__file__).resolve().parents[1]


async def _post(base: str, token: str, count: int) -> None:
    texts = backlog_texts(count)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        for start in range(0, count, 100):
            body = [{"source": "twitter", "external_id": f"s{i}", "author": {
                "handle": f"@vecino{i}"}, "text": texts[i], "lang": "es",
                "created_at": "2026-12-06T10:00:00Z"} for i in range(start, min(start + 100,
                                                                                 count))]
            async with session.post(f"{base}/api/v1/messages", json=body) as answer:
                if answer.status != 202:
                    raise SystemExit(f"refused: {answer.status} {await answer.text()}")


async def _wait_decided(url: str, count: int, wait_seconds: float) -> tuple[int, float]:
    """(decided, seconds from the first claim to the last decision)."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + wait_seconds
        decided = 0
        while time.monotonic() < deadline:
            decided = int(await conn.fetchval(
                "SELECT count(*) FROM stage_events WHERE stage = 'decided'"))
            if decided >= count:
                break
            await asyncio.sleep(0.25)
        span = await conn.fetchval(
            "SELECT extract(epoch FROM max(completed_at) FILTER (WHERE stage = 'decided') "
            "- min(completed_at - duration_ms * interval '1 millisecond') "
            "FILTER (WHERE stage = 'scored')) FROM stage_events")
    finally:
        await conn.close()
    return decided, float(span or 0.0)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_once(args: argparse.Namespace, workers: int, pace: str) -> dict[str, Any]:
    database = LatencyDatabase(args.pg_admin_url, f"guardian_scale_{secrets.token_hex(4)}")
    database.create()
    workdir = Path(tempfile.mkdtemp(prefix="guardian-scale-"))
    env = guardian_env(database.url)
    processes: list[subprocess.Popen[bytes]] = []
    log = (workdir / "processes.log").open("wb")
    try:
        guardian(["db", "upgrade"], env, workdir)
        token = guardian(["tokens", "create", "--role", "ingest", "--name", "scale"], env,
                         workdir).splitlines()[-1]
        port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "guardian", "serve", "--host", LOOPBACK, "--port",
             str(port), "--no-worker"], env=env, cwd=REPO, stdout=log,
            stderr=subprocess.STDOUT))
        base = f"http://{LOOPBACK}:{port}"
        asyncio.run(_wait_healthy(base))
        asyncio.run(_post(base, token, args.messages))
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        processes += [subprocess.Popen(
            [sys.executable, "-m", "benchmarks.paced_scorer", "--rate", str(args.rate),
             "--pace", pace, "--work-rate", str(args.work_rate), "--", "worker"], env=env,
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT) for _ in range(workers)]
        decided, span = asyncio.run(_wait_decided(database.url, args.messages, args.wait))
        wall = time.monotonic() - started
        load_after = os.getloadavg()[0]
    finally:
        _stop(processes)
        log.close()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"workers": workers, "pace": pace, "messages": args.messages, "decided": decided,
            "decided_per_s": round(decided / span, 1) if span else None,
            "seconds_first_claim_to_last_decision": round(span, 2),
            "wall_seconds_with_start_up": round(wall, 1),
            "load_average_before_after": [round(load_before, 2), round(load_after, 2)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=150.0,
                        help="each worker's scorer, texts/s (benchmarks/paced_scorer.py)")
    parser.add_argument("--pace", default="sleep,cpu")
    parser.add_argument("--wait", type=float, default=600.0)
    parser.add_argument("--pg-admin-url", default=os.environ.get(
        "GUARDIAN_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    speed = probe()
    # The cpu pace's unit of work, measured once here (quiet) for every worker process.
    args.work_rate = calibrate()
    print(f"{os.cpu_count()} cores; {speed.describe()}; scorer {args.rate:g} texts/s a worker"
          f" on an idle core")
    results = []
    for pace in args.pace.split(","):
        base_rate: float | None = None
        for workers in (int(n) for n in args.workers.split(",")):
            result = run_once(args, workers, pace)
            rate = result["decided_per_s"]
            base_rate = base_rate or rate
            result["speed_up"] = round(rate / base_rate, 2) if rate and base_rate else None
            results.append(result)
            print(f"pace {pace:5} workers {workers}: {result['decided']}/{args.messages} "
                  f"decided, {rate} decided/s (x{result['speed_up']} of one worker), "
                  f"load {result['load_average_before_after']}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine_info(speed_probe=False),
                                         "machine_speed": speed.to_json(),
                                         "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
