"""The crash harness: real `guardian serve` and `guardian worker` processes, SIGKILLed at
random moments while messages stream in, then counted: lost, stuck, parked, decided twice,
sent twice, never delivered.

`tests/test_reliability.py` runs it small on both databases; `benchmarks/reliability.py`
runs it large for the figures in docs/operations.md. Everything is real: the processes
are the CLI's, notifications go through apprise to a JSON receiver on loopback (every
person's channel redirected there with GUARDIAN_DELIVER_TO), and the counts are read
from the database and the receiver.

The policy is the example one made to notify at once: everybody works every hour, no
holidays, no quiet hours, no hourly cap, storms off, so that every routed request becomes a
notification sent now (a deferred one would prove nothing about sending).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy_files.loader import load_policy
from guardian.storage.db import create_engine, utcnow
from guardian.storage.messages import messages_table
from guardian.storage.migrate import upgrade
from guardian.storage.outbox import notifications_table
from guardian.storage.tokens import create_token
from guardian.types import FINAL_STAGE, NotificationStatus, Role
from tests.receivers import JsonReceiver, closed_port

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
SOURCE = "mastodon"  # the harness's messages, apart from anything else in the database

# Mild, invented requests for each team (the number keeps each text distinct).
REQUESTS = (
    "La farola de la calle Nueva {n} no funciona desde ayer",
    "Hay basura acumulada junto al contenedor de la plaza {n}",
    "Quisiera reservar la sala {n} del centro cívico el jueves por la tarde",
    "Necesito cambiar mi cita del centro de salud, soy el paciente {n}",
    "Un coche lleva días aparcado en el vado del número {n} de la calle Real",
)


def always_on_policies(directory: Path) -> Path:
    """A copy of the example policies under which every request is notified at once."""
    shutil.copytree(POLICIES, directory)
    staff_file = directory / "staff.yaml"
    staff = yaml.safe_load(staff_file.read_text(encoding="utf-8"))
    for person in staff["staff"]:
        person.pop("quiet_hours", None)
        person["working_hours"] = {"daily": "00:00-24:00"}
    staff_file.write_text(yaml.safe_dump(staff, allow_unicode=True), encoding="utf-8")
    town = directory / "town.yaml"
    town.write_text(town.read_text(encoding="utf-8").replace("  holidays: ejemplo\n", ""),
                    encoding="utf-8")
    limits = directory / "limits.yaml"
    text = limits.read_text(encoding="utf-8")
    for setting, highest in (("max_per_person_per_hour: 6", 1000),
                             ("distinct_authors: 10", 10_000), ("abusive_messages: 5", 10_000),
                             ("early_authors: 3", 10_000)):
        name = setting.split(":")[0]
        assert setting in text, setting
        text = text.replace(setting, f"{name}: {highest}")
    limits.write_text(text, encoding="utf-8")
    problems = load_policy(directory).errors
    assert not problems, problems
    return directory


@dataclass
class ChaosConfig:
    database_url: str
    workdir: Path
    messages: int = 300
    kills: int = 6
    rate: float = 40.0  # messages a second offered
    batch: int = 10
    seed: int = 1
    drain_seconds: float = 120.0
    # Seconds a process lives between kills: long enough, sometimes, to start and work.
    between_kills: tuple[float, float] = (0.5, 2.5)
    lease_seconds: float = 10.0


@dataclass
class ChaosReport:
    database: str
    messages: int
    accepted: int
    kills: dict[str, int]
    lost: int            # accepted (202) but not in the database
    stuck: int           # not at the last stage, not parked, after the drain
    parked: int          # failed after their attempts
    decided_twice: int   # a second notification for the same message, person and kind
    notifications: dict[str, int]
    received: int        # posts at the receiver
    sent_twice: int      # posts repeating an idempotency key already received
    undelivered: int     # marked sent, never received
    out_of_order: int    # a person's notification received after a later one of theirs
    load_seconds: float
    drain_seconds: float
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"database {self.database}: {self.messages} messages offered, {self.accepted} "
            f"accepted; kills {dict(self.kills)}",
            f"  lost {self.lost}, stuck {self.stuck}, parked {self.parked}, decided twice "
            f"{self.decided_twice}",
            f"  notifications {dict(self.notifications)}; received {self.received}, sent "
            f"twice {self.sent_twice}, undelivered {self.undelivered}, out of order "
            f"{self.out_of_order}",
            f"  load {self.load_seconds:.1f} s, drain {self.drain_seconds:.1f} s",
        ]


class Process:
    """One CLI process that can be killed and started again; its output kept in a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name, self.argv, self.env, self.workdir = name, argv, env, workdir
        self.log = workdir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen([sys.executable, "-m", "guardian", *self.argv],
                                          env=self.env, cwd=self.workdir, stdout=out,
                                          stderr=out)

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _batch(config: ChaosConfig, start: int) -> list[dict[str, Any]]:
    return [{
        "source": SOURCE,
        "external_id": f"chaos-{config.seed}-{n}",
        "author": {"handle": f"@vecina{n % 97}"},
        "text": REQUESTS[n % len(REQUESTS)].format(n=n),
        "created_at": utcnow().isoformat(),
        "lang": "es",
    } for n in range(start, min(start + config.batch, config.messages))]


async def _load(config: ChaosConfig, base: str, token: str, accepted: set[str]) -> None:
    """Offer every message at `rate`; a refused or broken request is tried again (the
    server may be dead or starting), as a feed connector would: ingest is idempotent."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for start in range(0, config.messages, config.batch):
            body = _batch(config, start)
            while True:
                try:
                    async with session.post(f"{base}/api/v1/messages", json=body,
                                            headers=headers) as response:
                        if response.status == 202:
                            accepted.update(m["external_id"] for m in body)
                            break
                except (TimeoutError, aiohttp.ClientError):
                    pass
                await asyncio.sleep(0.1)
            due = started + (start + config.batch) / config.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))


async def _kill_at_random(config: ChaosConfig, processes: list[Process],
                          loading: asyncio.Task[None], kills: Counter[str]) -> None:
    """Kill `serve` and `worker` in turn at random moments while the load lasts."""
    rng = random.Random(config.seed)
    for victim in (processes[i % len(processes)] for i in range(config.kills)):
        await asyncio.sleep(rng.uniform(*config.between_kills))
        if loading.done():
            return
        victim.kill()
        kills[victim.name] += 1
        victim.start()


async def _unfinished(engine: AsyncEngine) -> tuple[int, int]:
    m, n = messages_table.c, notifications_table.c
    async with engine.connect() as conn:
        messages = (await conn.execute(select(func.count()).where(
            m.source == SOURCE, m.stage != FINAL_STAGE.value, m.failed_at.is_(None)))).scalar()
        pending = (await conn.execute(select(func.count()).where(
            n.status == NotificationStatus.pending.value))).scalar()
    return int(messages or 0), int(pending or 0)


async def _count(engine: AsyncEngine, config: ChaosConfig, accepted: set[str],
                 receiver: JsonReceiver, kills: Counter[str], load_seconds: float,
                 drain_seconds: float) -> ChaosReport:
    m, n = messages_table.c, notifications_table.c
    stuck, _ = await _unfinished(engine)
    async with engine.connect() as conn:
        stored = set((await conn.execute(
            select(m.external_id).where(m.source == SOURCE))).scalars())
        parked = (await conn.execute(select(func.count()).where(
            m.source == SOURCE, m.failed_at.is_not(None)))).scalar()
        repeats = (await conn.execute(
            select(n.message_id, n.recipient, n.kind, func.count().label("times"))
            .where(n.message_id.is_not(None))
            .group_by(n.message_id, n.recipient, n.kind)
            .having(func.count() > 1))).all()
        statuses: dict[str, int] = {str(status): int(times) for status, times in (
            await conn.execute(select(n.status, func.count()).group_by(n.status))).all()}
        rows = (await conn.execute(select(n.idempotency_key, n.id, n.status))).all()
    key_to_id = {key: ident for key, ident, _ in rows}
    keys = [post.idempotency_key for post in receiver.posts]
    seen: set[str] = set()
    last: dict[str, int] = {}
    out_of_order = 0
    for post in receiver.posts:
        key = post.idempotency_key or ""
        if key in seen:
            continue
        seen.add(key)
        ident = key_to_id.get(key, 0)
        if ident < last.get(post.path, 0):
            out_of_order += 1
        last[post.path] = max(ident, last.get(post.path, 0))
    sent = {key for key, _, status in rows if status == NotificationStatus.sent.value}
    errors = [f"{len([k for k in keys if k is None])} posts without an Idempotency-Key"] \
        if None in keys else []
    return ChaosReport(
        database=config.database_url.split(":")[0], messages=config.messages,
        accepted=len(accepted), kills=dict(kills), lost=len(accepted - stored), stuck=stuck,
        parked=int(parked or 0),
        decided_twice=sum(int(times) - 1 for *_, times in repeats),
        notifications=statuses,
        received=len(keys), sent_twice=len(keys) - len(set(keys)),
        undelivered=len(sent - seen), out_of_order=out_of_order,
        load_seconds=load_seconds, drain_seconds=drain_seconds, errors=errors)


async def run_chaos(config: ChaosConfig) -> ChaosReport:
    """Start serve and a worker, stream messages while killing them, drain, count."""
    engine = create_engine(config.database_url)
    await upgrade(engine)
    _, token = await create_token(engine=engine, name=f"chaos-{config.seed}-{time.time_ns()}",
                                  role=Role.ingest)
    receiver = await JsonReceiver().start()
    policies = always_on_policies(config.workdir / "policies")
    port = closed_port()  # free now: the server about to start takes it
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARDIAN_")}
    env.update({
        "GUARDIAN_ENV": "development", "GUARDIAN_DATABASE_URL": config.database_url,
        "GUARDIAN_POLICIES_DIR": str(policies),
        "GUARDIAN_DELIVER_TO": receiver.url("{person}"),
        "GUARDIAN_MODELS_DIR": str(config.workdir / "models"),
        "GUARDIAN_LEASE_SECONDS": str(config.lease_seconds),
        "GUARDIAN_WORKER_POLL_SECONDS": "0.1", "GUARDIAN_LOG_LEVEL": "WARNING",
    })
    processes = [
        Process("serve", ["serve", "--port", str(port), "--no-migrate"], env, config.workdir),
        Process("worker", ["worker"], env, config.workdir),
    ]
    kills: Counter[str] = Counter()
    accepted: set[str] = set()
    try:
        for process in processes:
            process.start()
        started = time.monotonic()
        loading = asyncio.create_task(_load(config, f"http://127.0.0.1:{port}", token,
                                            accepted))
        await _kill_at_random(config, processes, loading, kills)
        await loading
        load_seconds = time.monotonic() - started
        drained = time.monotonic()
        deadline = drained + config.drain_seconds
        while time.monotonic() < deadline and await _unfinished(engine) != (0, 0):
            await asyncio.sleep(0.25)
        drain_seconds = time.monotonic() - drained
        # What is still in flight (a send's answer) lands before the counting.
        await asyncio.sleep(0.5)
    finally:
        for process in processes:
            process.stop()
    try:
        return await _count(engine, config, accepted, receiver, kills, load_seconds,
                            drain_seconds)
    finally:
        await receiver.close()
        await engine.dispose()
