"""Ingest-to-decision latency: messages posted at a steady rate to `guardian serve` (API and
worker in one process, lite scorer, PostgreSQL), and for each, the time from its receipt to
its decision, read back from the database (`stage_events`).

    .venv/bin/python -m benchmarks.pipeline_latency [--rate 200] [--seconds 30] [--runs 1]
        [--env GUARDIAN_WORKER_BATCH=64] [--worker-processes N]
        [--profile py-spy [--profile-out FILE]] [--json results.json]

Target: p99 under 250 ms at 200 messages/s. Texts: the Davidson tweets when present
(never printed), invented mild ones otherwise. Loopback only; bounded in time. Each run
has a fresh database of its own (`guardian_latency_<random>`, dropped afterwards), so runs
never collide with another benchmark's. Besides the total, the report splits each message's
latency into its stages (receipt to `scored`, `scored` to `decided`) and gives the CPU use of
the server, PostgreSQL and the load generator and the machine's load, since the machine is
shared. `--worker-processes N` runs the API alone (`serve --no-worker`) beside N `guardian
worker` processes instead, which it wakes through PostgreSQL (LISTEN/NOTIFY); the server's
CPU is then that of all of them.

`--profile py-spy` samples the server with py-spy (installed in the venv, or `--py-spy PATH`)
and prints its time by library and function (see `benchmarks/ingest.py`).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg

from benchmarks.ingest import (
    LOOPBACK,
    free_port,
    guardian,
    guardian_env,
    load_texts,
    loopback_only,
    machine_busy_seconds,
    machine_info,
    percentile,
    process_cpu_seconds,
    py_spy_summary,
    self_cpu_seconds,
)
from benchmarks.machine_speed import probe

TARGET_P99_MS = 250.0


@dataclass
class LatencyDatabase:
    admin_url: str
    name: str

    @property
    def url(self) -> str:
        return urlsplit(self.admin_url)._replace(path=f"/{self.name}").geturl()

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def create(self) -> None:
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


async def _wait_healthy(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{base}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("guardian serve did not become healthy")


async def _post_steadily(base: str, token: str, texts: list[str], rate: float,
                         seconds: float, offset: int, source: str = "latency") -> int:
    headers = {"Authorization": f"Bearer {token}"}
    interval, sent = 1 / rate, 0
    started = time.monotonic()
    async with aiohttp.ClientSession(headers=headers) as session:
        pending: set[asyncio.Task[Any]] = set()
        while time.monotonic() - started < seconds:
            due = started + sent * interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            body = {"source": source, "external_id": str(sent),
                    "author": {"handle": f"@vecino{sent % 500}"},
                    "text": texts[(offset + sent) % len(texts)],
                    "created_at": "2026-11-25T10:00:00Z"}
            pending.add(asyncio.create_task(session.post(f"{base}/api/v1/messages",
                                                         json=body)))
            sent += 1
            done = {t for t in pending if t.done()}
            for task in done:
                (await task).release()
            pending -= done
        for task in pending:
            (await task).release()
    return sent


@dataclass
class Measured:
    total: list[float]
    scoring: list[float]
    deciding: list[float]
    stored: int
    undecided: int


async def _wait_decided(conn: asyncpg.Connection, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE stage IN ('received', 'scored')")
        if waiting == 0:
            return
        await asyncio.sleep(0.2)


async def _warm_up(url: str, base: str, token: str, texts: list[str], rate: float,
                   seconds: float) -> float | None:
    """Messages from another source until everything is decided; returns their slowest
    ingest-to-decision time (the cold start: first model calls, the first duty timeline)."""
    if seconds <= 0:
        return None
    await _post_steadily(base, token, texts, rate, seconds, offset=len(texts) // 2,
                         source="warmup")
    conn = await asyncpg.connect(url)
    try:
        await _wait_decided(conn, 120)
        slowest = await conn.fetchval(
            "SELECT max(EXTRACT(EPOCH FROM (e.completed_at - m.received_at))) "
            "FROM messages m JOIN stage_events e ON e.message_id = m.id "
            "WHERE e.stage = 'decided' AND m.source = 'warmup'")
    finally:
        await conn.close()
    return None if slowest is None else round(float(slowest) * 1000, 1)


async def _latencies(url: str, wait_seconds: float) -> Measured:
    conn = await asyncpg.connect(url)
    try:
        await _wait_decided(conn, wait_seconds)
        rows = await conn.fetch(
            "SELECT EXTRACT(EPOCH FROM (d.completed_at - m.received_at)) AS total, "
            "EXTRACT(EPOCH FROM (s.completed_at - m.received_at)) AS scoring, "
            "EXTRACT(EPOCH FROM (d.completed_at - s.completed_at)) AS deciding "
            "FROM messages m JOIN stage_events d ON d.message_id = m.id AND d.stage = 'decided' "
            "JOIN stage_events s ON s.message_id = m.id AND s.stage = 'scored' "
            "WHERE m.source = 'latency'")
        stored = await conn.fetchval("SELECT count(*) FROM messages WHERE source = 'latency'")
        undecided = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE source = 'latency' AND decision IS NULL")
    finally:
        await conn.close()

    def ms(column: str) -> list[float]:
        return sorted(float(r[column]) * 1000 for r in rows)

    return Measured(ms("total"), ms("scoring"), ms("deciding"), int(stored), int(undecided))


def _figures(values: list[float]) -> dict[str, float | None]:
    return {"p50": round(percentile(values, 0.50), 1), "p95": round(percentile(values, 0.95), 1),
            "p99": round(percentile(values, 0.99), 1),
            "max": round(values[-1], 1) if values else None}


def _postgres_cpu_seconds() -> float:
    """CPU seconds of every PostgreSQL process (other databases' backends included)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _comm(entry) == "postgres":
            total += process_cpu_seconds(int(entry.name))
    return total


def _cpu_of(processes: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds of the processes and their children (scoring processes)."""
    wanted = {p.pid for p in processes}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(entry) in wanted:
            wanted.add(int(entry.name))
    return sum(process_cpu_seconds(pid) for pid in wanted)


def _parent(entry: Path) -> int:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _comm(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip()
    except OSError:
        return ""


def _py_spy(path: str) -> str:
    if path:
        return path
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("--profile py-spy: py-spy not found (pip install py-spy, or --py-spy)")
    return found


def run_once(args: argparse.Namespace, texts: list[str], offset: int) -> dict[str, Any]:
    speed = probe()  # the shared machine's speed varies: note it each run
    database = LatencyDatabase(args.pg_admin_url, f"guardian_latency_{secrets.token_hex(4)}")
    database.create()
    workdir = Path(tempfile.mkdtemp(prefix="guardian-latency-"))
    # Default settings otherwise: ingest wakes the worker, so it need not poll fast.
    env = {**guardian_env(database.url), "GUARDIAN_SCORER": "lite", **dict(args.env)}
    profile: str | None = None
    try:
        guardian(["db", "upgrade"], env, workdir)
        token = guardian(["tokens", "create", "--role", "ingest", "--name", "latency"], env,
                         workdir).splitlines()[-1]
        port = free_port()
        log = (workdir / "server.log").open("wb")
        serve = ["serve", "--host", LOOPBACK, "--port", str(port)]
        if args.worker_processes:
            serve.append("--no-worker")
        server = subprocess.Popen([sys.executable, "-m", "guardian", *serve], env=env,
                                  cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        # With --worker-processes N, the API process announces new messages and N
        # `guardian worker` processes take them (PostgreSQL LISTEN/NOTIFY).
        workers = [subprocess.Popen([sys.executable, "-m", "guardian", "worker"], env=env,
                                    cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
                   for _ in range(args.worker_processes)]
        processes = [server, *workers]
        profiler: subprocess.Popen[bytes] | None = None
        base = f"http://{LOOPBACK}:{port}"
        try:
            asyncio.run(_wait_healthy(base))
            cold_ms = asyncio.run(_warm_up(database.url, base, token, texts, args.rate,
                                           args.warmup_seconds))
            if args.profile == "py-spy":
                profiler = subprocess.Popen(
                    [_py_spy(args.py_spy), "record", "--pid", str(server.pid), "--rate", "100",
                     "--format", "raw", "--output", str(workdir / "py-spy.txt")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
                time.sleep(1.0)
            load_before = os.getloadavg()
            cpu_server, cpu_all = _cpu_of(processes), machine_busy_seconds()
            cpu_postgres, cpu_client = _postgres_cpu_seconds(), self_cpu_seconds()
            started = time.monotonic()
            sent = asyncio.run(_post_steadily(base, token, texts, args.rate, args.seconds,
                                              offset))
            measured = asyncio.run(_latencies(database.url, wait_seconds=120))
            elapsed = time.monotonic() - started
            server_cpu = _cpu_of(processes) - cpu_server
            machine_cpu = machine_busy_seconds() - cpu_all
            postgres_cpu = _postgres_cpu_seconds() - cpu_postgres
            client_cpu = self_cpu_seconds() - cpu_client
            load_after = os.getloadavg()
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            log.close()
            if profiler is not None:
                try:
                    profiler.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(timeout=10)
        if profiler is not None:
            profile = py_spy_summary(workdir / "py-spy.txt", args.top)
            if args.profile_out:
                shutil.copyfile(workdir / "py-spy.txt", args.profile_out)
    finally:
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    total = measured.total
    p99 = percentile(total, 0.99) if total else float("nan")
    return {
        "sent": sent, "stored": measured.stored, "decided": len(total),
        "undecided": measured.undecided,
        "warm_up_max_ms": cold_ms,
        "decided_per_second": round(len(total) / elapsed, 1) if elapsed else None,
        "latency_ms": _figures(total),
        "stages_ms": {"received_to_scored": _figures(measured.scoring),
                      "scored_to_decided": _figures(measured.deciding)},
        "server_cpu_percent": round(100 * server_cpu / elapsed, 1),
        "server_cpu_ms_per_message": round(1000 * server_cpu / max(sent, 1), 2),
        "postgres_cpu_percent": round(100 * postgres_cpu / elapsed, 1),
        "load_generator_cpu_percent": round(100 * client_cpu / elapsed, 1),
        "machine_cpu_percent": round(100 * machine_cpu / elapsed, 1),
        "cores": os.cpu_count(),
        "machine_speed": speed.to_json(),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "met": bool(total) and p99 < TARGET_P99_MS and measured.undecided == 0
        and measured.stored == sent,
        "profile": profile,
    }


def _summary(result: dict[str, Any], rate: float) -> str:
    lat, stages = result["latency_ms"], result["stages_ms"]
    return (f"{result['sent']} sent at {rate:g}/s, {result['stored']} stored, "
            f"{result['decided']} decided ({result['decided_per_second']}/s); "
            f"ingest-to-decision p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
            f"p99 {lat['p99']} ms, max {lat['max']} ms; "
            f"to scored p99 {stages['received_to_scored']['p99']} ms, "
            f"then to decided p99 {stages['scored_to_decided']['p99']} ms; "
            f"warm-up max {result['warm_up_max_ms']} ms; "
            f"server CPU {result['server_cpu_percent']}% "
            f"({result['server_cpu_ms_per_message']} ms a message), PostgreSQL "
            f"{result['postgres_cpu_percent']}%, load generator "
            f"{result['load_generator_cpu_percent']}%, machine {result['machine_cpu_percent']}% "
            f"of {result['cores']} cores; "
            f"load {result['load_average_before_after']}; "
            f"speed probe {result['machine_speed']}")


def _setting(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition("=")
    if not sep or not name.startswith("GUARDIAN_"):
        raise argparse.ArgumentTypeError("expected GUARDIAN_NAME=value")
    return name, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup-seconds", type=float, default=3.0,
                        help="post at the same rate for this long first, not measured")
    parser.add_argument("--worker-processes", type=int, default=0, metavar="N",
                        help="serve the API alone (--no-worker) and run N `guardian worker` "
                             "processes (default 0: API and worker in one process)")
    parser.add_argument("--runs", type=int, default=1, help="repeat, each on a fresh database")
    parser.add_argument("--env", type=_setting, action="append", default=[],
                        metavar="GUARDIAN_NAME=VALUE", help="a setting for the server")
    parser.add_argument("--profile", choices=("none", "py-spy"), default="none")
    parser.add_argument("--py-spy", default="", help="py-spy executable (default: the venv's)")
    parser.add_argument("--top", type=int, default=25, help="profile lines per section")
    parser.add_argument("--profile-out", default="",
                        help="keep py-spy's raw samples (collapsed stacks) in this file")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    loopback_only(args.pg_admin_url)
    texts, source = load_texts()
    runs = []
    for number in range(args.runs):
        result = run_once(args, texts, offset=number * int(args.rate * args.seconds))
        runs.append(result)
        print(f"run {number + 1}: {_summary(result, args.rate)}", flush=True)
        if result["profile"]:
            print(result["profile"], flush=True)
    report = {
        "command": " ".join([".venv/bin/python -m benchmarks.pipeline_latency", *sys.argv[1:]]),
        "machine": machine_info(speed_probe=False), "texts": source, "rate": args.rate,
        "seconds": args.seconds, "settings": dict(args.env),
        "worker_processes": args.worker_processes,
        "runs": [{k: v for k, v in r.items() if k != "profile"} for r in runs],
        "target": {"p99_ms_max": TARGET_P99_MS, "met_in_every_run": all(r["met"] for r in runs)},
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if report["target"]["met_in_every_run"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
