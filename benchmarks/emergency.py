"""Emergencies first: a report of a fallen power line posted behind a backlog of thousands,
with the production scorer's speed. How long from its ingest to the page on a receiver,
beside how long the backlog takes to drain (which a first-come, first-served queue would
have made it wait).

    .venv/bin/python -m benchmarks.emergency [--backlog 5000] [--rate 150] [--pace cpu]
        [--runs 1] [--json results.json]

Each run: a fresh PostgreSQL database, `guardian db upgrade`, an ingest token, a JSON
receiver on loopback that every notification goes to (GUARDIAN_DELIVER_TO), and one real
`guardian serve` (API and worker in one process, the example policies) whose scorer is the
stand-in of benchmarks/paced_scorer.py: the lite scorer's scores at `--rate` texts/s
(150: the ONNX target for XLM-R base at batch 32; 44: torch int8), spending CPU (`cpu`) or
not (`sleep`). Then `--backlog` mild reports from as many residents (lamps, bins, rooms),
posted 100 per request; two seconds later, while the worker is deep in the backlog, the
emergency. Its ingest-to-page time is read on the receiver (the notification carrying its
text), its ingest-to-decision time from `stage_events`; the drain time is from the
emergency's arrival until the last backlog message is decided. Target: page under 2 s.
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

from benchmarks.ingest import LOOPBACK, free_port, guardian, guardian_env, machine_info
from benchmarks.machine_speed import probe
from benchmarks.paced_scorer import calibrate
from benchmarks.pipeline_latency import LatencyDatabase, _wait_healthy
from tests.receivers import JsonReceiver

TARGET_PAGE_SECONDS = 2.0
MARKER = "calle del Pez 17"
EMERGENCY = f"Hay un cable de la luz caído en la {MARKER}, saltan chispas junto al colegio"
SOURCE = "twitter"
REPO = Path(__file__).resolve().parents[1]

_STREETS = ("calle Real", "calle Mayor", "avenida del Puerto", "plaza Nueva",
            "calle de la Fuente", "paseo del Río", "calle Ancha", "camino Viejo")
_REPORTS = (
    "La farola de la {street}, número {n}, lleva días apagada",
    "No han recogido los contenedores de la {street} esta semana (portal {n})",
    "¿Se puede reservar la sala {n} del centro cívico el jueves por la tarde?",
    "Hay un bache en la {street} a la altura del {n}, ¿pueden mirarlo?",
    "La parada del autobús de la {street} no tiene horario, línea {n}",
    "Quería pedir cita con el médico de cabecera, tarjeta acabada en {n}",
    "Gracias por limpiar el parque de la {street} tan rápido, banco {n}",
    "La fuente de la {street} gotea desde ayer, junto al número {n}",
)


def backlog_texts(count: int) -> list[str]:
    """Mild, invented reports, none of them urgent by the example policy's rules."""
    return [_REPORTS[i % len(_REPORTS)].format(street=_STREETS[(i // 8) % len(_STREETS)],
                                               n=i % 97 + 1) for i in range(count)]


def _message(external_id: str, text: str, author: str) -> dict[str, Any]:
    return {"source": SOURCE, "external_id": external_id, "author": {"handle": author},
            "text": text, "lang": "es", "created_at": "2026-12-06T10:00:00Z"}


async def _post_backlog(session: aiohttp.ClientSession, base: str, run: str, count: int
                        ) -> float:
    texts = backlog_texts(count)
    started = time.monotonic()
    for start in range(0, count, 100):
        body = [_message(f"{run}-b{i}", texts[i], f"@vecino{i}")
                for i in range(start, min(start + 100, count))]
        async with session.post(f"{base}/api/v1/messages", json=body) as answer:
            if answer.status != 202:
                raise SystemExit(f"backlog refused: {answer.status} {await answer.text()}")
    return time.monotonic() - started


async def _pending(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM messages WHERE stage IN ('received', 'scored', 'decided') "
        "AND failed_at IS NULL"))


async def _measure(base: str, token: str, db_url: str, receiver: JsonReceiver, run: str,
                   backlog: int, head_start: float, wait_seconds: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    conn = await asyncpg.connect(db_url)
    try:
        async with aiohttp.ClientSession(headers=headers) as session:
            posting = await _post_backlog(session, base, run, backlog)
            await asyncio.sleep(head_start)
            ahead = await _pending(conn)
            sent = time.monotonic()
            async with session.post(f"{base}/api/v1/messages", json=_message(
                    f"{run}-emergency", EMERGENCY, "@vecina_del_pez")) as answer:
                if answer.status != 202:
                    raise SystemExit(f"emergency refused: {answer.status}")
                emergency_id = (await answer.json())["ids"][0]
            paged: float | None = None
            while time.monotonic() - sent < wait_seconds:
                if any(MARKER in json.dumps(p.json, ensure_ascii=False)
                       for p in receiver.posts):
                    paged = time.monotonic() - sent
                    break
                await asyncio.sleep(0.01)
            waiting_when_paged = await _pending(conn)
            for _ in range(int(wait_seconds * 30 / 0.2)):  # the drain: bounded too
                if not await _pending(conn):
                    break
                await asyncio.sleep(0.2)
            drained = time.monotonic() - sent
            left = await _pending(conn)
        row = await conn.fetchrow(
            "SELECT m.received_at, m.priority, "
            "(SELECT completed_at FROM stage_events e WHERE e.message_id = m.id "
            " AND e.stage = 'decided') AS decided_at, m.decision->'outcomes' AS outcomes "
            "FROM messages m WHERE m.id = $1", emergency_id)
        last_backlog = await conn.fetchval(
            "SELECT max(e.completed_at) - min(m.received_at) FROM stage_events e "
            "JOIN messages m ON m.id = e.message_id WHERE e.stage = 'decided'")
    finally:
        await conn.close()
    outcomes = json.loads(row["outcomes"]) if row["outcomes"] else []
    return {
        "backlog": backlog, "backlog_post_seconds": round(posting, 2),
        "waiting_when_emergency_arrived": ahead,
        "waiting_when_paged": waiting_when_paged,
        "emergency_priority": row["priority"],
        "emergency_outcomes": [o.get("kind") for o in outcomes],
        "ingest_to_decision_s": (round((row["decided_at"] - row["received_at"])
                                       .total_seconds(), 3) if row["decided_at"] else None),
        "ingest_to_page_s": round(paged, 3) if paged is not None else None,
        "drain_after_emergency_s": round(drained, 1),
        "backlog_decided_per_s": round(backlog / last_backlog.total_seconds(), 1)
        if last_backlog else None,
        "left_pending": left,
        "met": paged is not None and paged < TARGET_PAGE_SECONDS and left == 0,
    }


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    speed = probe()
    database = LatencyDatabase(args.pg_admin_url, f"guardian_emergency_{secrets.token_hex(4)}")
    database.create()
    workdir = Path(tempfile.mkdtemp(prefix="guardian-emergency-"))
    try:
        return asyncio.run(_run(args, database, workdir, speed.to_json()))
    finally:
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)


async def _run(args: argparse.Namespace, database: LatencyDatabase, workdir: Path,
               speed: dict[str, float]) -> dict[str, Any]:
    receiver = await JsonReceiver().start()
    env = {**guardian_env(database.url), "GUARDIAN_DELIVER_TO": receiver.url("all"),
           "GUARDIAN_LOG_LEVEL": "WARNING"}
    try:
        await asyncio.to_thread(guardian, ["db", "upgrade"], env, workdir)
        token = (await asyncio.to_thread(
            guardian, ["tokens", "create", "--role", "ingest", "--name", "emergency"], env,
            workdir)).splitlines()[-1]
        port = free_port()
        log = (workdir / "server.log").open("wb")
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.paced_scorer", "--rate", str(args.rate),
            "--pace", args.pace, "--work-rate", str(calibrate()), "--", "serve", "--host",
            LOOPBACK, "--port", str(port),
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://{LOOPBACK}:{port}"
            await _wait_healthy(base)
            load_before = os.getloadavg()[0]
            result = await _measure(base, token, database.url, receiver,
                                    secrets.token_hex(3), args.backlog, args.head_start,
                                    args.wait)
            result["load_average_before_after"] = [round(load_before, 2),
                                                   round(os.getloadavg()[0], 2)]
        finally:
            server.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(server.wait(), 60)
            except TimeoutError:
                server.kill()
                await server.wait()
            log.close()
    finally:
        await receiver.close()
    result.update({"scorer_rate": args.rate, "pace": args.pace, "machine_speed": speed})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=150.0,
                        help="the production scorer's texts/s (benchmarks/paced_scorer.py)")
    parser.add_argument("--pace", choices=["cpu", "sleep"], default="cpu")
    parser.add_argument("--head-start", type=float, default=2.0,
                        help="seconds between the backlog and the emergency")
    parser.add_argument("--wait", type=float, default=60.0,
                        help="seconds to wait for the page")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pg-admin-url", default=os.environ.get(
        "GUARDIAN_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = []
    for n in range(args.runs):
        result = run_once(args)
        results.append(result)
        print(f"run {n + 1}: backlog {result['backlog']} "
              f"({result['waiting_when_emergency_arrived']} still waiting when the emergency "
              f"came), scorer {args.rate:g} texts/s "
              f"({args.pace}): ingest to decision {result['ingest_to_decision_s']} s, to page "
              f"{result['ingest_to_page_s']} s (target < {TARGET_PAGE_SECONDS:g} s); backlog "
              f"drained {result['drain_after_emergency_s']} s after it "
              f"({result['backlog_decided_per_s']} decided/s); outcomes "
              f"{result['emergency_outcomes']}; load {result['load_average_before_after']}; "
              f"{'met' if result['met'] else 'NOT met'}")
    report = {"machine": machine_info(speed_probe=False), "results": results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
