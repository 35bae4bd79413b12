"""Notification benchmarks: outbox throughput, and decision-to-delivery latency of pages.

    .venv/bin/python -m benchmarks.notifications [--db postgresql|sqlite]
        [--part throughput|pages|both] [--notifications 5000] [--senders 1,2,4]
        [--batch 16,64] [--mode processes,tasks] [--rate 50] [--seconds 60]
        [--poll 0.5] [--concurrency N] [--wake] [--receiver-delay-ms 0]
        [--send-threads N] [--runs 1] [--json results.json]

Figures and what they showed: docs/performance.md, "Notifications".

Every notification goes through apprise for real, to a JSON receiver (`json://`, an
aiohttp app) that runs in a process of its own, so its cost is not charged to the sender;
it notes each post's arrival (`time.time()`) and the marker `[nb:N]` in its text, which
identifies the notification: nothing may arrive twice or not at all.

Throughput: N `deliver` notifications are queued with `guardian.storage.outbox.enqueue`
(payloads shaped like `compose.for_decision`'s, so each send renders its template), then
1, 2 and 4 `Sender`s (no send-time checks: `duty=None`) run until nothing is pending,
with `SenderConfig(batch_size=…)` 16 and 64. `--mode processes`: one process per sender,
as separate `guardian worker`s would run them; `--mode tasks`: the senders as tasks in one
process (one event loop, one thread pool for apprise). The figure is sent/s from the
moment every sender is ready to the last one's end.

Pages: for `--seconds`, `--rate` times a second a page is opened as the decision stage
opens one (one transaction: the message's decision, `open_page`, then the `PageNotifier`
hook that queues its notification with the ack link), each with a team and category of
its own, while a `Notifier` built as `guardian.engine.build.build` builds it (duty checks on,
poll `--poll`, by default the `GUARDIAN_WORKER_POLL_SECONDS` default) runs in the same
process, as the decision stage and the notifier share a worker. Latency: arrival at the
receiver minus the commit of the page's transaction (wall clocks, one machine). Target:
p99 under 2 s at 50 pages/s. `--wake` calls `Notifier.wake()` after each commit (what the
decision stage would do), `--concurrency` sets the notifier's rounds in flight.

`--receiver-delay-ms` makes the receiver answer late, like a remote service;
`--send-threads` resizes the pools that sends run in (an experiment: see `send_threads`).

The database is a fresh one (`guardian_notify_<random>` on PostgreSQL, dropped at the end;
a temporary file on SQLite). Loopback only. The machine's load average is printed with
the figures: on a shared machine, repeat the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import re
import resource
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.ingest import (
    LOOPBACK,
    loopback_only,
    machine_busy_seconds,
    machine_info,
    percentile,
    process_cpu_seconds,
)
from guardian.config.settings import Settings
from guardian.engine.decision_stage import Notifying
from guardian.engine.dismissed import DismissedDelivery
from guardian.engine.notifier import Notifier
from guardian.engine.timeline import DutyTimeline
from guardian.notify.channels import apprise_module
from guardian.notify.compose import language_of, local_time, message_link
from guardian.notify.digest import DigestComposer
from guardian.notify.paging import PageNotifier
from guardian.notify.render import render
from guardian.notify.sender import Sender, SenderConfig
from guardian.policy.model import Policy
from guardian.policy_files.loader import load_policy
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.db import create_engine, utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.migrate import upgrade
from guardian.storage.pages import Step, open_page
from guardian.types import NotificationKind

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"
BASE_URL = "https://guardian.town.test"
SECRET = "benchmark-secret-key-long-enough-for-signed-links"
MARK = re.compile(r"\[nb:(\d+)\]")
TARGET_PAGE_P99_S = 2.0
TABLES = ("delivery_attempts", "notifications", "page_events", "pages", "messages")
DEFAULT_POLL = Settings().worker_poll_seconds


def bench_policy(port: int) -> Policy:
    """The example policy, every person's only channel a path of their own on the receiver
    (the few lines of `tests.notify.test_sender.policy_with`)."""
    base = load_policy(POLICIES).policy  # fresh: its cached indexes are not built yet
    assert base is not None, "the example policy does not load"
    staff = tuple(s.model_copy(update={"channels": [f"json://{LOOPBACK}:{port}/{s.id}"]})
                  for s in base.staff)
    return base.model_copy(update={"staff": staff})


def _figures(values: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    return {"p50": round(percentile(ordered, 0.50), 4),
            "p95": round(percentile(ordered, 0.95), 4),
            "p99": round(percentile(ordered, 0.99), 4), "max": round(ordered[-1], 4)}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


# --------------------------------------------------------------------------- receiver

def _receiver_main(ready: Connection, delay: float) -> None:
    asyncio.run(_serve_receiver(ready, delay))


async def _serve_receiver(ready: Connection, delay: float) -> None:
    """Record every post: (marker or -1, arrival wall time, path); answer after `delay`
    seconds (a remote service's response time)."""
    arrivals: list[tuple[int, float, str]] = []

    async def post(request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.json()
        found = MARK.search(str(body.get("message", "")) if isinstance(body, dict) else "")
        arrivals.append((int(found.group(1)) if found else -1, arrived, request.path))
        if delay > 0:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True})

    async def listing(_request: web.Request) -> web.Response:
        return web.json_response({"arrivals": arrivals})

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"count": len(arrivals)})

    async def reset(_request: web.Request) -> web.Response:
        arrivals.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/_arrivals", listing)
    app.router.add_get("/_count", count)
    app.router.add_post("/_reset", reset)
    app.router.add_post("/{tail:.*}", post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    ready.send(int(runner.addresses[0][1]))
    await asyncio.Event().wait()  # until the parent terminates this process


@dataclass
class Receiver:
    """The JSON receiver in a process of its own."""

    process: multiprocessing.process.BaseProcess
    port: int

    @classmethod
    def start(cls, delay: float = 0.0) -> Receiver:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_receiver_main, args=(child, delay), daemon=True,
                                  name="json-receiver")
        process.start()
        if not parent.poll(30):
            process.terminate()
            raise SystemExit("the JSON receiver did not start")
        return cls(process, int(parent.recv()))

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    async def reset(self) -> None:
        async with aiohttp.ClientSession() as session, session.post(f"{self.base}/_reset"):
            pass

    async def count(self) -> int:
        async with aiohttp.ClientSession() as session, \
                session.get(f"{self.base}/_count") as response:
            return int((await response.json())["count"])

    async def arrivals(self) -> list[tuple[int, float, str]]:
        async with aiohttp.ClientSession() as session, \
                session.get(f"{self.base}/_arrivals") as response:
            return [(int(m), float(t), str(p)) for m, t, p in (await response.json())["arrivals"]]

    async def wait_for(self, count: int, within: float) -> int:
        deadline = time.monotonic() + within
        got = await self.count()
        while got < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            got = await self.count()
        return got

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# --------------------------------------------------------------------------- database

@dataclass
class BenchDatabase:
    kind: str
    url: str
    drop: Callable[[], None]


def _admin_url_for(admin_url: str, name: str) -> str:
    return urlsplit(admin_url)._replace(path=f"/{name}").geturl()


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def new_database(kind: str, admin_url: str, workdir: Path) -> BenchDatabase:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'guardian-notify.db'}"
        drop: Callable[[], None] = lambda: None  # noqa: E731 (the directory is removed)
    else:
        loopback_only(admin_url)
        name = f"guardian_notify_{secrets.token_hex(4)}"
        asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
        url = _admin_url_for(admin_url, name)

        def drop() -> None:
            asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(migrate())
    except BaseException:
        drop()
        raise
    return BenchDatabase(kind, url, drop)


async def empty(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))
        else:
            for table in TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))


async def status_counts(engine: AsyncEngine, kind: str) -> dict[str, int]:
    c = outbox.notifications_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(c.status, func.count()).where(c.kind == kind)
                                   .group_by(c.status))).all()
    return {str(status): int(n) for status, n in rows}


# --------------------------------------------------------------------------- throughput

def _deliver_payload(policy: Policy, person: str, number: int, now: dt.datetime
                     ) -> dict[str, Any]:
    """What `compose.for_decision` puts in a push of a mild message."""
    return {"category": "street_lighting", "urgency": "normal", "team": "lighting",
            "text": f"La farola número {number} de la calle Real está apagada [nb:{number}]",
            "shielded": False, "received_at": now.astimezone(dt.UTC).isoformat(),
            "local_time": local_time(policy, person, now),
            "link": message_link(BASE_URL, number), "author": "@vecina",
            "reasons": ["street_lighting: owned by team lighting", "on duty now"]}


async def enqueue_delivers(engine: AsyncEngine, policy: Policy, count: int, run: str,
                           chunk: int = 500) -> float:
    """Queue `count` pending deliver notifications; return the seconds it took."""
    people = sorted(policy.people)
    now = utcnow()
    started = time.perf_counter()
    for first in range(0, count, chunk):
        async with engine.begin() as conn:
            for number in range(first, min(first + chunk, count)):
                person = people[number % len(people)]
                payload = _deliver_payload(policy, person, number, now)
                lang = language_of(policy, person)
                await outbox.enqueue(
                    conn=conn, recipient=person, kind=NotificationKind.deliver,
                    body=render(NotificationKind.deliver.value, lang, payload).body,
                    due_at=now, idempotency_key=f"bench:{run}:{number}", message_id=number,
                    payload=payload, lang=lang, category="street_lighting")
    return time.perf_counter() - started


def send_threads(threads: int | None) -> None:
    """Let `threads` sends be in flight instead of Python's min(32, cores + 4): the threads
    of the running loop's default executor (where `Sender` calls apprise, through
    `asyncio.to_thread`) and of apprise's process-wide pool, where apprise (2.x) runs each
    service call that has a deadline (all of them: `service_timeout` is 60 s by default).
    The second is apprise's internal state: an experiment for this benchmark only."""
    if threads is None:
        return
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send"))
    import apprise.apprise as apprise_internals

    if not hasattr(apprise_internals, "_shared_executor"):
        raise SystemExit("--send-threads: this apprise has no _shared_executor to resize")
    apprise_internals._shared_executor = ThreadPoolExecutor(max_workers=threads,
                                                            thread_name_prefix="apprise")


def _sender_main(url: str, port: int, tasks: int, batch: int, pool_size: int,
                 threads: int | None, barrier: Barrier, results: Connection) -> None:
    results.send(asyncio.run(_run_senders(url, port, tasks, batch, pool_size, threads,
                                          barrier)))


async def _run_senders(url: str, port: int, tasks: int, batch: int, pool_size: int,
                       threads: int | None, barrier: Barrier) -> dict[str, Any]:
    send_threads(threads)
    engine = create_engine(url, pool_size=pool_size)
    policy = bench_policy(port)
    senders = [Sender(engine=engine, policy=lambda: policy,
                      config=SenderConfig(batch_size=batch),
                      owner=f"bench-{os.getpid()}-{n}", duty=None) for n in range(tasks)]
    # Warm up what the first send would otherwise pay for: apprise's plugin registry, the
    # templates, a database connection.
    person = sorted(policy.people)[0]
    apprise_module().Apprise.instantiate(policy.people[person].channels[0])
    render("deliver", "es", _deliver_payload(policy, person, 0, utcnow()))
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))

    async def drain(sender: Sender) -> int:
        total = 0
        while (claimed := await sender.run_once()) > 0:
            total += claimed
        return total

    await asyncio.to_thread(barrier.wait, 60)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.time()
    claimed = await asyncio.gather(*(drain(s) for s in senders))
    finished = time.time()
    after = resource.getrusage(resource.RUSAGE_SELF)
    await engine.dispose()
    return {"claimed": sum(claimed), "started": started, "finished": finished,
            "cpu_seconds": (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)}


def run_senders(url: str, port: int, processes: int, tasks: int, batch: int,
                pool_size: int, threads: int | None, sample: Callable[[], tuple[float, float]]
                ) -> tuple[float, float, list[dict[str, Any]], tuple[float, float]]:
    """Start the senders, let them go at once; return (start, end, per-process results,
    the change in `sample()` (CPU seconds) from the start to the end)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    pipes = [context.Pipe(duplex=False) for _ in range(processes)]
    children = [context.Process(target=_sender_main, name=f"sender-{n}",
                                args=(url, port, tasks, batch, pool_size, threads, barrier,
                                      pipes[n][1]))
                for n in range(processes)]
    for child in children:
        child.start()
    try:
        barrier.wait(120)
        started = time.time()
        before = sample()
        results = []
        for (receive, _send), child in zip(pipes, children, strict=True):
            if not receive.poll(1800):
                raise SystemExit(f"{child.name} did not finish")
            results.append(receive.recv())
        after = sample()
        ended = max(r["finished"] for r in results)
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.terminate()
                child.join(5)
    return started, ended, results, (after[0] - before[0], after[1] - before[1])


@dataclass
class ThroughputResult:
    mode: str
    senders: int
    batch: int
    queued: int
    enqueue_per_second: float
    sent_per_second: float
    seconds: float
    arrived: int
    distinct: int
    duplicates: int
    missing: int
    unmarked: int
    statuses: dict[str, int]
    sender_cpu_percent: float
    receiver_cpu_percent: float
    machine_cpu_percent_of_2_cores: float
    load_before_after: tuple[float, float]

    @property
    def exact(self) -> bool:
        return (self.arrived == self.queued == self.distinct and self.duplicates == 0
                and self.missing == 0 and self.unmarked == 0
                and self.statuses == {"sent": self.queued})


async def _prepare_throughput(url: str, policy: Policy, receiver: Receiver, count: int,
                              run: str) -> float:
    engine = create_engine(url)
    try:
        await empty(engine)
        await receiver.reset()
        return await enqueue_delivers(engine, policy, count, run)
    finally:
        await engine.dispose()


async def _check_throughput(url: str, receiver: Receiver, count: int
                            ) -> tuple[list[tuple[int, float, str]], dict[str, int]]:
    await receiver.wait_for(count, within=10)
    arrivals = await receiver.arrivals()
    engine = create_engine(url)
    try:
        statuses = await status_counts(engine, NotificationKind.deliver.value)
    finally:
        await engine.dispose()
    return arrivals, statuses


def throughput_once(url: str, receiver: Receiver, policy: Policy, mode: str, senders: int,
                    batch: int, count: int, connections: int, threads: int | None
                    ) -> ThroughputResult:
    run = secrets.token_hex(3)
    enqueue_seconds = asyncio.run(_prepare_throughput(url, policy, receiver, count, run))
    processes, tasks = (senders, 1) if mode == "processes" else (1, senders)
    pool_size = max(1, connections // (2 * processes))
    load_before = _load()
    started, ended, results, (receiver_cpu, machine_cpu) = run_senders(
        url, receiver.port, processes, tasks, batch, pool_size, threads,
        lambda: (process_cpu_seconds(receiver.pid), machine_busy_seconds()))
    elapsed = ended - started
    arrivals, statuses = asyncio.run(_check_throughput(url, receiver, count))
    markers = Counter(m for m, _, _ in arrivals if m >= 0)
    return ThroughputResult(
        mode=mode, senders=senders, batch=batch, queued=count,
        enqueue_per_second=round(count / enqueue_seconds, 1),
        sent_per_second=round(statuses.get("sent", 0) / elapsed, 1),
        seconds=round(elapsed, 2), arrived=len(arrivals), distinct=len(markers),
        duplicates=sum(n - 1 for n in markers.values() if n > 1),
        missing=sum(1 for n in range(count) if n not in markers),
        unmarked=sum(1 for m, _, _ in arrivals if m < 0), statuses=statuses,
        sender_cpu_percent=round(100 * sum(r["cpu_seconds"] for r in results) / elapsed, 1),
        receiver_cpu_percent=round(100 * receiver_cpu / elapsed, 1),
        machine_cpu_percent_of_2_cores=round(100 * machine_cpu / elapsed / 2, 1),
        load_before_after=(load_before, _load()))


# --------------------------------------------------------------------------- pages

@dataclass
class PageRun:
    opened: int = 0
    commits: dict[int, float] = field(default_factory=dict)
    open_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _store_page_messages(engine: AsyncEngine, count: int, run: str) -> list[int]:
    """The messages the pages are about, stored beforehand (they were received and scored
    before their decision)."""
    ids: list[int] = []
    for first in range(0, count, 500):
        batch = [MessageIn.model_validate({
            "source": "bench", "external_id": f"page-{run}-{n}",
            "author": {"handle": f"@vecino{n % 97}"},
            "text": f"Hay un cable caído en la calle Mayor {n}, saltan chispas [nb:{n}]",
            "created_at": "2026-11-26T03:00:00+01:00", "lang": "es"})
            for n in range(first, min(first + 500, count))]
        async with engine.begin() as conn:
            ids.extend(s.id for s in await store_messages(conn=conn, messages=batch))
    return ids


async def _open_one(engine: AsyncEngine, hook: PageNotifier, people: Sequence[str],
                    number: int, message_id: int, run: PageRun,
                    wake: Callable[[], None] | None) -> None:
    """One page, opened as the decision stage's `_carry_out` opens it (and with `wake`,
    the notifier woken after the commit)."""
    person = people[number % len(people)]
    started = time.perf_counter()
    try:
        async with engine.begin() as conn:
            now = utcnow()
            await conn.execute(messages_table.update()
                               .where(messages_table.c.id == message_id)
                               .values(decision={"urgency": "emergency", "bench": True}))
            page, event = await open_page(
                conn=conn, team=f"bench-team-{number}",
                reason=f"bench-category-{number} (emergency): cable caído",
                plan=[Step(person, 15), Step("lucia", 15)], last_resort="lucia", now=now,
                message_id=message_id, category=f"bench-category-{number}")
            await hook(conn, page, event, now)
        run.commits[number] = time.time()
        run.open_seconds.append(time.perf_counter() - started)
        if wake is not None:
            wake()
    except Exception as exc:  # reported, never silently lost
        run.errors.append(f"page {number}: {type(exc).__name__}: {exc}")


async def pages_once(url: str, receiver: Receiver, policy: Policy, rate: float,
                     seconds: float, poll: float, drain_seconds: float,
                     concurrency: int | None, wake: bool, threads: int | None
                     ) -> dict[str, Any]:
    send_threads(threads)
    engine = create_engine(url)  # the default pool, as `guardian worker` has it
    try:
        await empty(engine)
        await receiver.reset()
        count = int(rate * seconds)
        run_id = secrets.token_hex(3)
        message_ids = await _store_page_messages(engine, count, run_id)

        # The notifier as guardian.engine.build.build makes it.
        timeline = DutyTimeline(engine, lambda: policy)
        hook = PageNotifier(policy=lambda: policy, secret=SECRET, base_url=BASE_URL)
        notifying = Notifying(base_url=BASE_URL, page_hook=hook)

        def current() -> Policy:
            return policy

        sender = Sender(engine=engine, policy=current, duty=timeline.availability)
        digests = DigestComposer(engine=engine, duty=timeline.availability, base_url=BASE_URL)
        notifier = Notifier(sender, digests, poll_seconds=poll,
                            dismissed=DismissedDelivery(engine, timeline, notifying),
                            **({} if concurrency is None else {"concurrency": concurrency}))
        woken = notifier.wake if wake else None
        # Warm-up: the timeline, apprise's plugins, the templates (a restart pays it once).
        await timeline.availability(utcnow())
        apprise_module().Apprise.instantiate(policy.people["lucia"].channels[0])
        people = sorted(p for p in policy.people)

        running = asyncio.create_task(notifier.run())
        run = PageRun()
        tasks: set[asyncio.Task[None]] = set()
        load_before = _load()
        own_cpu, receiver_cpu = process_cpu_seconds(os.getpid()), process_cpu_seconds(receiver.pid)
        machine_cpu = machine_busy_seconds()
        started = time.monotonic()
        interval = 1 / rate
        for number in range(count):
            delay = started + number * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(_open_one(engine, hook, people, number,
                                                 message_ids[number], run, woken))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            run.opened += 1
        if tasks:
            await asyncio.gather(*tasks)
        open_elapsed = time.monotonic() - started
        delivered = await receiver.wait_for(len(run.commits), within=drain_seconds)
        elapsed = time.monotonic() - started
        own_cpu = process_cpu_seconds(os.getpid()) - own_cpu
        receiver_cpu = process_cpu_seconds(receiver.pid) - receiver_cpu
        machine_cpu = machine_busy_seconds() - machine_cpu
        load_after = _load()
        notifier.stop()
        await running

        arrivals = await receiver.arrivals()
        first_arrival: dict[int, float] = {}
        for marker, arrived, _path in arrivals:
            if marker >= 0 and marker not in first_arrival:
                first_arrival[marker] = arrived
        markers = Counter(m for m, _, _ in arrivals)
        latencies = [first_arrival[n] - committed for n, committed in run.commits.items()
                     if n in first_arrival]
        split = await _page_split(engine, message_ids, run)
        statuses = await status_counts(engine, NotificationKind.page.value)
    finally:
        await engine.dispose()
    p99 = _figures(latencies)["p99"]
    return {
        "rate": rate, "seconds": seconds, "poll_seconds": poll,
        "notifier_concurrency": notifier.concurrency, "wake_after_commit": wake,
        "opened": run.opened, "committed": len(run.commits),
        "opened_per_second": round(len(run.commits) / open_elapsed, 2),
        "open_transaction_s": _figures(run.open_seconds),
        "delivered": delivered, "distinct_delivered": len(first_arrival),
        "duplicates": sum(n - 1 for n in markers.values() if n > 1),
        "missing": sum(1 for n in run.commits if n not in first_arrival),
        "statuses": statuses, "errors": run.errors[:5], "error_count": len(run.errors),
        "latency_s": _figures(latencies),
        "split_s": split,
        "process_cpu_percent": round(100 * own_cpu / elapsed, 1),
        "receiver_cpu_percent": round(100 * receiver_cpu / elapsed, 1),
        "machine_cpu_percent_of_2_cores": round(100 * machine_cpu / elapsed / 2, 1),
        "load_before_after": (load_before, load_after),
        "met": p99 is not None and p99 < TARGET_PAGE_P99_S and not run.errors
        and len(first_arrival) == run.opened and markers.get(-1, 0) == 0
        and all(n == 1 for n in markers.values()),
    }


async def _page_split(engine: AsyncEngine, message_ids: Sequence[int], run: PageRun
                      ) -> dict[str, dict[str, float | None]]:
    """Where each page's time went, from the delivery log: commit → send started (claim,
    the page and lease checks, waiting for a poll), and the send itself (apprise)."""
    number_of = {mid: n for n, mid in enumerate(message_ids)}
    n_c = outbox.notifications_table.c
    a_c = outbox.attempts_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(n_c.message_id, a_c.at, a_c.duration_ms)
            .join_from(outbox.attempts_table, outbox.notifications_table,
                       a_c.notification_id == n_c.id)
            .where(n_c.kind == NotificationKind.page.value, a_c.ok.is_(True)))).all()
    waits, sends = [], []
    for message_id, at, duration_ms in rows:
        number = number_of.get(message_id)
        committed = run.commits.get(number) if number is not None else None
        if committed is None:
            continue
        send_started = at.timestamp() - duration_ms / 1000
        waits.append(send_started - committed)
        sends.append(duration_ms / 1000)
    return {"commit_to_send_start": _figures(waits), "send": _figures(sends)}


# --------------------------------------------------------------------------- main

def _ints(raw: str) -> list[int]:
    try:
        values = [int(v) for v in raw.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas: {raw}") from exc
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("expected positive numbers")
    return values


def _modes(raw: str) -> list[str]:
    modes = [m.strip() for m in raw.split(",") if m.strip()]
    if not modes or any(m not in ("processes", "tasks") for m in modes):
        raise argparse.ArgumentTypeError("expected processes, tasks or both")
    return modes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.notifications",
        description="Notification benchmarks: outbox throughput to a json:// receiver in "
                    "another process, and decision-to-delivery latency of pages.")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--part", choices=("throughput", "pages", "both"), default="both")
    parser.add_argument("--notifications", type=int, default=5000,
                        help="throughput: notifications queued per configuration")
    parser.add_argument("--senders", type=_ints, default=[1, 2, 4],
                        help="throughput: numbers of concurrent senders (default 1,2,4)")
    parser.add_argument("--batch", type=_ints, default=[16, 64],
                        help="throughput: SenderConfig.batch_size values (default 16,64)")
    parser.add_argument("--mode", type=_modes, default=["processes"],
                        help="throughput: senders in processes of their own, or as tasks "
                             "of one process, or both (processes,tasks)")
    parser.add_argument("--connections", type=int, default=40,
                        help="throughput: database connections shared by the sender "
                             "processes (each gets a pool of connections/(2 * processes) plus as "
                             "many overflow; 40 is one process's default: pool 20 + 20)")
    parser.add_argument("--rate", type=float, default=50.0, help="pages: pages per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="pages: duration")
    parser.add_argument("--poll", type=float, default=DEFAULT_POLL,
                        help=f"pages: the notifier's poll interval (default {DEFAULT_POLL})")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="pages: the notifier's rounds in flight (default: Notifier's)")
    parser.add_argument("--wake", action="store_true",
                        help="pages: wake the notifier after each page's commit (what the "
                             "decision stage would do with Notifier.wake)")
    parser.add_argument("--drain-seconds", type=float, default=60.0,
                        help="pages: how long to wait for the last deliveries")
    parser.add_argument("--receiver-delay-ms", type=float, default=0.0,
                        help="the receiver answers after this long (arrival is noted first): "
                             "a remote service's response time")
    parser.add_argument("--send-threads", type=int, default=None,
                        help="sends in flight per process: threads of the event loop's "
                             "default executor and of apprise's shared pool (default: "
                             "Python's, min(32, cores + 4) = "
                             f"{min(32, (os.cpu_count() or 1) + 4)} here); an experiment")
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="guardian-notify-bench-"))
    receiver = Receiver.start(args.receiver_delay_ms / 1000)
    database: BenchDatabase | None = None
    report: dict[str, Any] = {
        "command": " ".join([".venv/bin/python -m benchmarks.notifications", *sys.argv[1:]]),
        "date": dt.date.today().isoformat(), "machine": machine_info(), "database": args.db,
        "receiver": "aiohttp app in a separate process",
        "receiver_delay_ms": args.receiver_delay_ms, "send_threads": args.send_threads,
        "throughput": [], "pages": []}
    ok = True
    try:
        database = new_database(args.db, args.pg_admin_url, workdir)
        policy = bench_policy(receiver.port)
        print(f"database {args.db}, receiver pid {receiver.pid} on port {receiver.port}, "
              f"load {_load()}", flush=True)
        if args.part in ("throughput", "both"):
            for run in range(args.runs):
                for mode in args.mode:
                    for batch in args.batch:
                        for senders in args.senders:
                            result = throughput_once(database.url, receiver, policy, mode,
                                                     senders, batch, args.notifications,
                                                     args.connections, args.send_threads)
                            ok = ok and result.exact
                            report["throughput"].append(
                                {**dataclasses.asdict(result), "run": run + 1,
                                 "exactly_once": result.exact})
                            print(f"throughput run {run + 1}: {senders} sender(s) as {mode}, "
                                  f"batch {batch}: {result.sent_per_second:,.1f} sent/s "
                                  f"({result.queued} in {result.seconds} s; queued at "
                                  f"{result.enqueue_per_second:,.0f}/s); arrived "
                                  f"{result.arrived}, distinct {result.distinct}, duplicates "
                                  f"{result.duplicates}, missing {result.missing}; "
                                  f"{'exactly once' if result.exact else 'NOT EXACT'}; CPU "
                                  f"senders {result.sender_cpu_percent}%, receiver "
                                  f"{result.receiver_cpu_percent}%, machine "
                                  f"{result.machine_cpu_percent_of_2_cores}% of 2 cores; "
                                  f"load {result.load_before_after}", flush=True)
        if args.part in ("pages", "both"):
            for run in range(args.runs):
                found = asyncio.run(pages_once(database.url, receiver, policy, args.rate,
                                               args.seconds, args.poll, args.drain_seconds,
                                               args.concurrency, args.wake,
                                               args.send_threads))
                ok = ok and bool(found["met"])
                report["pages"].append({**found, "run": run + 1})
                lat, split = found["latency_s"], found["split_s"]
                print(f"pages run {run + 1} (notifier concurrency "
                      f"{found['notifier_concurrency']}, "
                      f"{'woken after each commit' if args.wake else 'polling'}): "
                      f"{found['committed']} opened at "
                      f"{found['opened_per_second']}/s (asked {args.rate:g}/s), "
                      f"{found['distinct_delivered']} delivered, duplicates "
                      f"{found['duplicates']}, missing {found['missing']}, errors "
                      f"{found['error_count']}; commit-to-arrival p50 {lat['p50']} s, p95 "
                      f"{lat['p95']} s, p99 {lat['p99']} s, max {lat['max']} s; commit to "
                      f"send start p99 {split['commit_to_send_start']['p99']} s, send p99 "
                      f"{split['send']['p99']} s; open transaction p99 "
                      f"{found['open_transaction_s']['p99']} s; CPU this process "
                      f"{found['process_cpu_percent']}%, receiver "
                      f"{found['receiver_cpu_percent']}%, machine "
                      f"{found['machine_cpu_percent_of_2_cores']}% of 2 cores; load "
                      f"{found['load_before_after']}; target p99 < {TARGET_PAGE_P99_S:g} s "
                      f"{'met' if found['met'] else 'MISSED'}", flush=True)
    finally:
        receiver.stop()
        if database is not None:
            database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    rendered = json.dumps(report, indent=2, default=str)
    print(rendered)
    if args.json:
        args.json.write_text(rendered + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
