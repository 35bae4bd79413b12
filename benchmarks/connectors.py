"""Connector throughput into PostgreSQL, nothing lost: events a second

- polled: the `connectors` job reading a fake Mastodon (tests/fakes/mastodon.py) that holds
  `--events` mentions after the cursor (a long outage to catch up on), 40 a page as
  Mastodon serves them; the fake runs in this process and shares its CPU;
- pushed: signed webhook deliveries (`POST /hooks/{id}`, `--batch` messages each, from
  `--clients` concurrent senders) to a real `guardian serve --no-worker`, and, in the same
  run against the same server, the same bodies through `POST /api/v1/messages` with a
  bearer token: the ingest baseline the webhook is compared with (signature check and
  all).

    .venv/bin/python -m benchmarks.connectors [--events 5000] [--batch 50] [--clients 8]
        [--json results.json]

Target (issue 16): at least 500 events a second on this machine. Every run has a fresh
database of its own (dropped afterwards); every stored row is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from benchmarks.ingest import free_port, machine_info
from benchmarks.pipeline_latency import LatencyDatabase
from guardian.connectors.signed_webhook import sign
from guardian.engine.connectors import Connectors
from guardian.policy.model import Connector
from guardian.storage.connectors import set_cursor
from guardian.storage.db import create_engine
from guardian.storage.migrate import upgrade
from tests.conftest import example_policy
from tests.fakes.mastodon import FakeMastodon

REPO = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("GUARDIAN_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")
SECRET = secrets.token_urlsafe(24)
TEXTS = ("La farola de la calle Mayor está apagada desde ayer",
         "Hay basura junto al contenedor de la plaza",
         "Quisiera reservar la sala del centro cívico el jueves")


async def _count(url: str, source: str, prefix: str = "") -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, count(DISTINCT external_id) AS d "
                                  "FROM messages WHERE source = $1 AND external_id LIKE $2",
                                  source, f"{prefix}%")
    finally:
        await conn.close()
    return int(row["n"]), int(row["d"])


async def polled(url: str, events: int) -> dict[str, Any]:
    """The connectors job catching up on `events` Mastodon mentions."""
    engine = create_engine(url)
    await upgrade(engine)
    fake = await FakeMastodon().start()
    try:
        for n in range(events):
            fake.add_mention(f"{TEXTS[n % len(TEXTS)]} ({n})", acct=f"vecina{n % 500}")
        spec = Connector(id="mastodon-bench", kind="mastodon", url=fake.instance,
                         token="{env:MASTODON_TOKEN}", poll_seconds=0.1)
        policy = example_policy().model_copy(update={"connectors": (spec,)})
        await set_cursor(engine=engine, name=spec.id, kind=spec.kind, cursor="0")
        job = Connectors(engine, lambda: policy,
                         environ={"MASTODON_TOKEN": fake.access_token}, owner="bench")
        started = time.perf_counter()
        rounds = idle = 0
        # Until the feed is caught up: a round that finds nothing (its count includes one
        # for "more is waiting", so it is not the number stored).
        while idle < 1 and time.perf_counter() - started < 300:
            idle = idle + 1 if await job.run_once() == 0 else 0
            rounds += 1
        seconds = time.perf_counter() - started
        await job.close()
    finally:
        await fake.close()
        await engine.dispose()
    rows, distinct = await _count(url, "mastodon")
    return {"events": events, "seconds": round(seconds, 3),
            "events_per_second": round(rows / seconds, 1), "rows": rows,
            "distinct": distinct, "rounds": rounds, "lost": events - distinct}


def _bodies(source: str, events: int, batch: int) -> list[bytes]:
    bodies = []
    for start in range(0, events, batch):
        items = [{"source": source, "external_id": f"{source}-{n}",
                  "author": {"handle": f"@vecina{n % 500}"},
                  "text": f"{TEXTS[n % len(TEXTS)]} ({n})",
                  "created_at": "2026-12-06T09:00:00+01:00", "lang": "es"}
                 for n in range(start, min(start + batch, events))]
        bodies.append(json.dumps(items).encode())
    return bodies


async def _send(url: str, bodies: list[bytes], clients: int,
                headers_for: Any) -> tuple[float, int]:
    errors = 0
    position = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def client() -> None:
            nonlocal position, errors
            while position < len(bodies):
                body = bodies[position]
                position += 1
                async with session.post(url, data=body, headers=headers_for(body)) as answer:
                    await answer.read()
                    errors += answer.status != 202

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, errors


def pushed(url: str, events: int, batch: int, clients: int, workdir: Path) -> dict[str, Any]:
    """Signed webhook deliveries and the same through ingest, to one `guardian serve`."""
    policies = workdir / "policies"
    shutil.copytree(REPO / "policies", policies)
    (policies / "connectors.yaml").write_text(
        "connectors:\n  - id: forms\n    kind: webhook\n    secret: \"{env:FORMS_SECRET}\"\n",
        encoding="utf-8")
    env = {**os.environ, "GUARDIAN_DATABASE_URL": url, "GUARDIAN_ENV": "production",
           "GUARDIAN_SECRET_KEY": secrets.token_urlsafe(48), "GUARDIAN_LOG_LEVEL": "WARNING",
           "GUARDIAN_POLICIES_DIR": str(policies), "FORMS_SECRET": SECRET,
           "GUARDIAN_PUBLIC_URL": "https://guardian.ejemplo.es"}
    token = subprocess.run([sys.executable, "-m", "guardian", "tokens", "create", "--role",
                            "ingest", "--name", "bench"], env=env, cwd=workdir,
                           capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "guardian", "serve", "--host",
                               "127.0.0.1", "--port", str(port), "--no-worker"], env=env,
                              cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    async def run() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{base}/health") as answer:
                        if answer.status in (200, 503):
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

        def signed(body: bytes) -> dict[str, str]:
            at = int(time.time())
            return {"Content-Type": "application/json", "X-Guardian-Timestamp": str(at),
                    "X-Guardian-Signature": sign(SECRET, at, body)}

        def bearer(_: bytes) -> dict[str, str]:
            return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

        # Warm both paths, then alternate so the machine's drift hits both alike.
        await _send(f"{base}/hooks/forms", _bodies("warm", 200, batch), clients, signed)
        hook_s, hook_errors = await _send(f"{base}/hooks/forms",
                                          _bodies("forms", events, batch), clients, signed)
        ingest_s, ingest_errors = await _send(f"{base}/api/v1/messages",
                                              _bodies("ingest", events, batch), clients,
                                              bearer)
        hook_rows, hook_distinct = await _count(url, "forms", "forms-")
        ingest_rows, _ = await _count(url, "ingest")
        return {"events": events, "batch": batch, "clients": clients,
                "webhook_seconds": round(hook_s, 3),
                "webhook_events_per_second": round(hook_rows / hook_s, 1),
                "ingest_seconds": round(ingest_s, 3),
                "ingest_events_per_second": round(ingest_rows / ingest_s, 1),
                "webhook_vs_ingest": round(ingest_s / hook_s, 3),
                "webhook_rows": hook_rows, "lost": events - hook_distinct,
                "errors": hook_errors + ingest_errors}

    try:
        return asyncio.run(run())
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine_info(speed_probe=False)}
    for part in ("polled", "pushed"):
        database = LatencyDatabase(POSTGRES, f"guardian_connectors_{secrets.token_hex(4)}")
        database.create()
        try:
            with tempfile.TemporaryDirectory(prefix="guardian-connectors-") as workdir:
                results[part] = (asyncio.run(polled(database.url, args.events))
                                 if part == "polled" else
                                 pushed(database.url, args.events, args.batch, args.clients,
                                        Path(workdir)))
        finally:
            database.drop()
        print(part, json.dumps(results[part]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    lost = results["polled"]["lost"] + results["pushed"]["lost"]
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
