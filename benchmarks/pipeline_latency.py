"""Ingest-to-decision latency: messages posted at a steady rate to `guardian serve` (API and
worker in one process, lite scorer, PostgreSQL), and for each, the time from its receipt to
its decision, read back from the database (`stage_events`).

    .venv/bin/python benchmarks/pipeline_latency.py [--rate 200] [--seconds 30]

Target: p99 under 250 ms at 200 messages/s. Texts: the Davidson tweets when present
(never printed), invented mild ones otherwise. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from benchmarks.ingest import (
    LOOPBACK,
    free_port,
    guardian,
    guardian_env,
    load_texts,
    machine_info,
    percentile,
    postgresql_database,
)


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
                         seconds: float) -> int:
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
            body = {"source": "latency", "external_id": str(sent),
                    "author": {"handle": f"@vecino{sent % 500}"},
                    "text": texts[sent % len(texts)], "created_at": "2026-11-25T10:00:00Z"}
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


async def _latencies(url: str, wait_seconds: float) -> tuple[list[float], int, int]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE stage IN ('received', 'scored')")
            if waiting == 0:
                break
            await asyncio.sleep(0.5)
        rows = await conn.fetch(
            "SELECT EXTRACT(EPOCH FROM (e.completed_at - m.received_at)) AS seconds "
            "FROM messages m JOIN stage_events e ON e.message_id = m.id "
            "WHERE e.stage = 'decided' AND m.source = 'latency'")
        total = await conn.fetchval("SELECT count(*) FROM messages WHERE source = 'latency'")
        undecided = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE source = 'latency' AND decision IS NULL")
    finally:
        await conn.close()
    return sorted(float(r["seconds"]) * 1000 for r in rows), int(total), int(undecided)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    texts, source = load_texts()
    database = postgresql_database(args.pg_admin_url, keep=False)
    workdir = Path(tempfile.mkdtemp(prefix="guardian-latency-"))
    env = {**guardian_env(database.url), "GUARDIAN_SCORER": "lite",
           "GUARDIAN_WORKER_POLL_SECONDS": "0.05"}
    try:
        guardian(["db", "upgrade"], env, workdir)
        token = guardian(["tokens", "create", "--role", "ingest", "--name", "latency"], env,
                         workdir)
        port = free_port()
        log = (workdir / "server.log").open("wb")
        server = subprocess.Popen([sys.executable, "-m", "guardian", "serve", "--host",
                                   LOOPBACK, "--port", str(port)], env=env, cwd=workdir,
                                  stdout=log, stderr=subprocess.STDOUT)
        base = f"http://{LOOPBACK}:{port}"
        try:
            asyncio.run(_wait_healthy(base))
            sent = asyncio.run(_post_steadily(base, token, texts, args.rate, args.seconds))
            latencies, stored, undecided = asyncio.run(
                _latencies(database.url, wait_seconds=120))
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()
    finally:
        database.cleanup()
    report = {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "machine": machine_info(), "texts": source, "rate": args.rate,
        "seconds": args.seconds, "sent": sent, "stored": stored, "decided": len(latencies),
        "undecided": undecided,
        "latency_ms": {"p50": round(percentile(latencies, 0.50), 1),
                       "p90": round(percentile(latencies, 0.90), 1),
                       "p99": round(percentile(latencies, 0.99), 1),
                       "max": round(latencies[-1], 1) if latencies else None},
        "target": {"p99_ms_max": 250, "met": bool(latencies) and
                   percentile(latencies, 0.99) < 250 and undecided == 0},
    }
    print(f"{sent} sent at {args.rate}/s, {stored} stored, {len(latencies)} decided; "
          f"ingest-to-decision p50 {report['latency_ms']['p50']} ms, p99 "
          f"{report['latency_ms']['p99']} ms, max {report['latency_ms']['max']} ms")
    print(json.dumps(report, indent=2))
    return 0 if report["target"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
