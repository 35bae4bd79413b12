"""Ingest benchmark: how many messages per second `POST /api/v1/messages` accepts.

For each database (SQLite in a temp file, PostgreSQL in a fresh `guardian_bench`
database) it migrates with `guardian db upgrade`, creates an ingest token with
`guardian tokens create`, starts `guardian serve --no-worker` on a free loopback port,
replays messages from N concurrent clients (one aiohttp session, bodies serialised in
advance), then stops the server and counts the stored rows: every accepted message must
be there.

    .venv/bin/python benchmarks/ingest.py [--db sqlite|postgresql|both] [--clients 32]
        [--messages 20000] [--batch 1] [--warmup 200] [--json results.json]

`benchmarks/ingest_vs_bare.py` drives Guardian and a bare aiohttp + asyncpg server
(benchmarks/bare_ingest_server.py) with this module's load generator, side by side.

Texts are the `tweet` column of shared/data/davidson-2017/labeled_data.csv when it is
present (they are never printed), else invented, mild ones. The server runs as its own
process; this process is the load generator, so on a small machine both compete for the
CPU (and with PostgreSQL's backends): the CPU use of each is reported beside the figures.

`--profile py-spy` samples the server with py-spy (`--py-spy PATH`, e.g. after
`pip install --target /tmp/pyspy py-spy`) and prints its time by library and function.
It samples only the thread holding the GIL (`--gil`): on the build machine py-spy takes
threads that wait (the event loop in epoll, idle thread-pool workers) for busy ones, which
buried the profile under waiting; the price is that time in system calls made without
the GIL (socket writes) is not counted. SQLAlchemy runs queries in greenlets, which
py-spy shows as stacks of their own: trust the self-time figures, not the inclusive ones
of the handlers. `--profile cprofile` runs the server under cProfile instead; it slows the
server a lot and misattributes time across greenlet switches, so read it for call counts
rather than times.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import math
import os
import platform
import pstats
import resource
import secrets
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script too: make `benchmarks` importable

from benchmarks.machine_speed import probe  # noqa: E402

DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "davidson-2017"
        / "labeled_data.csv")
SOURCE = "bench"
BENCH_DATABASE = "guardian_bench"
LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
MAX_TEXT_CHARS = 5000
TARGET_RATE = 1000.0
TARGET_P99_MS = 50.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


# --------------------------------------------------------------------------- messages

def load_texts() -> tuple[list[str], str]:
    """The corpus texts, or invented ones; and a description (never the texts)."""
    if DATA.is_file():
        with DATA.open(newline="", encoding="utf-8", errors="replace") as handle:
            texts = [text for row in csv.DictReader(handle)
                     if (text := row.get("tweet") or "").strip()
                     and len(text) <= MAX_TEXT_CHARS]
        if texts:
            return texts, f"davidson-2017 tweet column ({len(texts)} texts)"
    return generated_texts(), "generated (davidson-2017 not found)"


def generated_texts() -> list[str]:
    streets = ["Calle Real", "Calle Mayor", "Avenida del Puerto", "Plaza Nueva",
               "Calle de la Fuente", "Paseo del Rio", "Calle Ancha", "Camino Viejo"]
    templates = [
        "The street lamp on {street} number {n} is out",
        "Bins on {street} were not collected this week, stop {n}",
        "Thank you to the library team for the story hour, room {n}",
        "Is the swimming pool open on holidays? Asking for lane {n}",
        "There is a pothole near {street} {n}, please have a look",
        "The bus stop on {street} has lost its timetable, line {n}",
        "Lovely concert in {street} last night, bench {n} needs paint",
        "When does the market on {street} open? Stall {n} was closed",
    ]
    return [template.format(street=street, n=n)
            for n in range(1, 64) for street in streets for template in templates]


BASE_TIME = dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def message(texts: list[str], run_id: str, phase: str, index: int) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "external_id": f"{run_id}-{phase}-{index}",
        "author": {"handle": f"@bench_{index % 997}"},
        "text": texts[index % len(texts)],
        "created_at": (BASE_TIME + dt.timedelta(seconds=index)).isoformat(),
    }


def bodies(texts: list[str], run_id: str, phase: str, count: int, batch: int,
           offset: int = 0) -> list[tuple[bytes, int]]:
    """`count` messages as request bodies of `batch` messages each (a bare object for 1)."""
    out: list[tuple[bytes, int]] = []
    for start in range(0, count, batch):
        items = [message(texts, run_id, phase, offset + i)
                 for i in range(start, min(start + batch, count))]
        payload: object = items[0] if batch == 1 else items
        out.append((json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
                    len(items)))
    return out


# --------------------------------------------------------------------------- machine

def read_proc(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model() -> str:
    for line in read_proc("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def machine_info(*, speed_probe: bool = True) -> dict[str, Any]:
    """The machine and versions; `speed_probe=False` when the caller probed each run."""
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "packages": {name: version_of(name) for name in (
            "aiohttp", "SQLAlchemy", "asyncpg", "aiosqlite", "pydantic", "sqlmodel")},
        "sqlite": sqlite3.sqlite_version,
    }
    if speed_probe:
        info["machine_speed"] = probe().to_json()
    return info


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    stat = read_proc(f"/proc/{pid}/stat")
    if not stat:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds spent on all cores outside idle and iowait since boot."""
    line = read_proc("/proc/stat").splitlines()[0] if read_proc("/proc/stat") else ""
    parts = [int(x) for x in line.split()[1:]]
    if len(parts) < 5:
        return 0.0
    busy = sum(parts[:8]) - parts[3] - parts[4]
    return busy / CLK_TCK


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- databases

@dataclass
class Database:
    kind: str
    url: str
    count_rows: Any  # Callable[[], dict[str, int]]
    cleanup: Any  # Callable[[], None]
    server_version: str = ""


def loopback_only(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_NAMES:
        raise SystemExit(f"refusing {host!r}: the benchmark talks to loopback addresses only")


def sqlite_database(workdir: Path) -> Database:
    path = workdir / "guardian-bench.db"

    def count() -> dict[str, int]:
        with sqlite3.connect(path) as conn:
            total, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT external_id) FROM messages WHERE source = ?",
                (SOURCE,)).fetchone()
        return {"rows": int(total), "distinct_external_ids": int(distinct)}

    return Database("sqlite", f"sqlite:///{path}", count, lambda: None,
                    f"SQLite {sqlite3.sqlite_version}")


def postgresql_database(admin_url: str, keep: bool) -> Database:
    loopback_only(admin_url)
    import asyncpg

    parts = urlsplit(admin_url)
    url = parts._replace(path=f"/{BENCH_DATABASE}").geturl()

    async def recreate() -> str:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    async def count_async() -> dict[str, int]:
        conn = await asyncpg.connect(url)
        try:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, count(DISTINCT external_id) AS d FROM messages "
                "WHERE source = $1", SOURCE)
        finally:
            await conn.close()
        return {"rows": int(row["n"]), "distinct_external_ids": int(row["d"])}

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        finally:
            await conn.close()

    version = asyncio.run(recreate())
    return Database("postgresql", url, lambda: asyncio.run(count_async()),
                    (lambda: None) if keep else (lambda: asyncio.run(drop())),
                    f"PostgreSQL {version}")


# --------------------------------------------------------------------------- server

def guardian_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GUARDIAN_DATABASE_URL"] = database_url
    env.setdefault("GUARDIAN_ENV", "production")
    env.setdefault("GUARDIAN_SECRET_KEY", secrets.token_urlsafe(48))
    env.setdefault("GUARDIAN_LOG_LEVEL", "WARNING")
    env.setdefault("GUARDIAN_POLICIES_DIR", str(REPO / "policies"))
    # Production requires it (links are built from it); nothing here opens it.
    env.setdefault("GUARDIAN_PUBLIC_URL", "https://guardian.ejemplo.es")
    env.pop("GUARDIAN_HOST", None)
    env.pop("GUARDIAN_PORT", None)
    return env


def guardian(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a `guardian` CLI command and return its stdout (stderr shown on failure)."""
    done = subprocess.run([sys.executable, "-m", "guardian", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`guardian {' '.join(args)}` failed ({done.returncode}):\n"
                         f"{done.stderr.strip()}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    profiler: subprocess.Popen[bytes] | None = None
    profile_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_levels(self) -> dict[str, int]:
        """How many WARNING/ERROR/CRITICAL lines the server logged (never their text: an
        error may quote a message)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        found: Counter[str] = Counter()
        for line in text.splitlines():
            for level in ("WARNING", "ERROR", "CRITICAL", "Traceback"):
                if f" {level} " in f" {line} ":
                    found[level] += 1
        return dict(found)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def guardian_serve(port: int) -> list[str]:
    """`guardian serve --no-worker` on `port`: the arguments after the interpreter."""
    return ["-m", "guardian", "serve", "--host", LOOPBACK, "--port", str(port), "--no-worker"]


def start_server(env: dict[str, str], workdir: Path, profile: str, py_spy: str, *,
                 program: Callable[[int], list[str]] = guardian_serve,
                 name: str = "server") -> Server:
    """Start `python <program(port)>` on a free loopback port (guardian's server by default;
    benchmarks/ingest_vs_bare.py starts its bare server this way too) and wait for
    `/health` to answer 200. `name` names its log and profile files in `workdir`."""
    port = free_port()
    serve = program(port)
    profile_path: Path | None = None
    command = [sys.executable, *serve]
    if profile == "cprofile":
        profile_path = workdir / f"{name}.prof"
        command = [sys.executable, "-m", "cProfile", "-o", str(profile_path), *serve]
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, port, log_path, profile_path=profile_path)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before answering:\n"
                             f"{server.log_tail()}")
        try:
            with DIRECT.open(f"{server.base}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except urllib.error.HTTPError as exc:
            if exc.code == 503 and time.monotonic() > deadline - 50:
                detail = exc.read().decode(errors="replace")[:2000]
                stop_server(server)
                raise SystemExit(f"/health answers 503: {detail}") from None
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise SystemExit(f"the server did not answer /health within 60 s:\n"
                             f"{server.log_tail()}")
        time.sleep(0.1)
    if profile == "py-spy":
        server.profile_path = workdir / f"{name}.py-spy.txt"
        server.profiler = subprocess.Popen(
            [py_spy, "record", "--pid", str(process.pid), "--rate", "100", "--format", "raw",
             "--gil", "--output", str(server.profile_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    return server


def stop_server(server: Server) -> int:
    """SIGINT (aiohttp's graceful stop), then SIGKILL after 30 s; return the exit code."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    if server.profiler is not None:
        try:
            server.profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.profiler.send_signal(signal.SIGINT)
            server.profiler.wait(timeout=10)
    return int(server.process.returncode)


# --------------------------------------------------------------------------- load

@dataclass
class Load:
    requests: int = 0
    accepted_requests: int = 0
    accepted_messages: int = 0
    duplicates: int = 0
    not_sent: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    machine_cpu: float = 0.0


async def replay(url: str, token: str, work: list[tuple[bytes, int]], clients: int,
                 max_seconds: float, server_pid: int) -> Load:
    """Send every body once from `clients` concurrent loops; stop early at `max_seconds`."""
    load = Load()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    position = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     headers=headers) as session:

        async def client() -> None:
            nonlocal position
            while position < len(work) and time.perf_counter() < deadline:
                body, count = work[position]
                position += 1
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=body) as answer:
                        reply = await answer.read()
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    load.requests += 1
                    load.errors[type(exc).__name__] += 1
                    continue
                load.latencies.append(time.perf_counter() - sent)
                load.requests += 1
                if status == 202:
                    duplicates = reply.count(b'"duplicate":true')
                    load.accepted_requests += 1
                    load.accepted_messages += count - duplicates
                    load.duplicates += duplicates
                else:
                    load.errors[f"HTTP {status}"] += 1
                    if len(load.error_samples) < 3:
                        load.error_samples.append(reply[:300].decode(errors="replace"))

        cpu_self, cpu_server, cpu_all = (self_cpu_seconds(), process_cpu_seconds(server_pid),
                                         machine_busy_seconds())
        started = time.perf_counter()
        deadline = started + max_seconds
        await asyncio.gather(*(client() for _ in range(clients)))
        load.seconds = time.perf_counter() - started
        load.client_cpu = self_cpu_seconds() - cpu_self
        load.server_cpu = process_cpu_seconds(server_pid) - cpu_server
        load.machine_cpu = machine_busy_seconds() - cpu_all
    load.not_sent = len(work) - position
    return load


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


# --------------------------------------------------------------------------- profile

def profile_summary(server: Server, top: int) -> str:
    path = server.profile_path
    if path is None or not path.exists():
        return "(no profile was written)"
    if path.suffix == ".prof":
        out = io.StringIO()
        stats = pstats.Stats(str(path), stream=out)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        return f"cProfile of the server:\n{out.getvalue()}"
    return py_spy_summary(path, top)


LIBRARIES = (  # the first that a sample's innermost frames name gets its self time
    ("guardian/", "guardian (own code)"),
    ("sqlalchemy/sql/", "SQLAlchemy: statement building and compiling"),
    ("sqlalchemy/", "SQLAlchemy: engine, pool, results"),
    ("greenlet", "SQLAlchemy: greenlet bridge"),
    ("asyncpg/", "asyncpg"),
    ("aiosqlite/", "aiosqlite"),
    ("sqlite3/", "sqlite3"),
    ("pydantic", "pydantic"),
    ("sqlmodel/", "sqlmodel"),
    ("json/", "json"),
    ("prometheus_client/", "prometheus_client (metrics)"),
    ("aiohttp/", "aiohttp"),
    ("asyncio/", "asyncio (event loop, sockets)"),
    ("selectors.py", "asyncio (event loop, sockets)"),
)


def _frame(raw: str) -> tuple[str, str]:
    """`name (path:line)` -> (`name`, `path`)."""
    name, _, where = raw.partition(" (")
    return name, where.rstrip(")").rsplit(":", 1)[0]


def py_spy_summary(path: Path, top: int) -> str:
    """Where the server's samples went: by library (self), function (self), guardian code
    (inclusive), from py-spy's raw (collapsed stack) output."""
    by_library: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, raw_count = line.rpartition(" ")
        if not raw_count.isdigit() or not stack:
            continue
        count = int(raw_count)
        total += count
        frames = [_frame(raw) for raw in stack.split(";")[1:]]  # [0] names the process
        if not frames:
            continue
        name, where = frames[-1]
        own[f"{name} ({where})"] += count
        for _, file in reversed(frames):
            library = next((label for key, label in LIBRARIES if key in file), None)
            if library is not None:
                by_library[library] += count
                break
        else:
            by_library["other (" + where + ")"] += count
        for name, file in {f for f in frames if f[1].startswith("guardian/")}:
            inclusive[f"{name} ({file})"] += count

    def share(counter: Counter[str], limit: int) -> list[str]:
        return [f"  {100 * n / total:5.1f}%  {key}" for key, n in counter.most_common(limit)]

    if not total:
        return "(py-spy wrote no samples)"
    return "\n".join([
        f"py-spy samples of the server while busy: {total}", "",
        "self time by library (innermost frame of a known library):", *share(by_library, 20),
        "", "inclusive time of guardian functions:", *share(inclusive, top),
        "", "self time by function:", *share(own, top),
    ])


# --------------------------------------------------------------------------- run

def bench_one(kind: str, args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"guardian-bench-{kind}-") as tmp:
        workdir = Path(tmp)
        database = (sqlite_database(workdir) if kind == "sqlite"
                    else postgresql_database(args.pg_admin_url, args.keep_db))
        try:
            return run_against(database, workdir, args, texts)
        finally:
            database.cleanup()


def run_against(database: Database, workdir: Path, args: argparse.Namespace,
                texts: list[str]) -> dict[str, Any]:
    env = guardian_env(database.url)
    print(f"[{database.kind}] {guardian(['db', 'upgrade'], env, workdir)}", file=sys.stderr)
    token = guardian(["tokens", "create", "--role", "ingest", "--name", "bench"], env,
                     workdir).splitlines()[-1]
    run_id = secrets.token_hex(4)
    warm = bodies(texts, run_id, "warm", args.warmup * args.batch, args.batch)
    work = bodies(texts, run_id, "m", args.messages, args.batch)
    server = start_server(env, workdir, args.profile, args.py_spy)
    url = f"{server.base}/api/v1/messages"
    print(f"[{database.kind}] server on {server.base} (pid {server.process.pid}); "
          f"warm-up {len(warm)} requests, then {args.messages} messages", file=sys.stderr)
    try:
        warm_load = asyncio.run(replay(url, token, warm, args.clients, args.max_seconds,
                                       server.process.pid))
        load = asyncio.run(replay(url, token, work, args.clients, args.max_seconds,
                                  server.process.pid))
    finally:
        exit_code = stop_server(server)
        log_levels = server.log_levels()
    counted = database.count_rows()
    expected = warm_load.accepted_messages + load.accepted_messages
    ordered = sorted(load.latencies)
    rate = load.accepted_messages / load.seconds if load.seconds else 0.0
    p99_ms = 1000 * percentile(ordered, 0.99)
    errors = sum(load.errors.values()) + sum(warm_load.errors.values())
    result: dict[str, Any] = {
        "database": database.kind,
        "server": database.server_version,
        "clients": args.clients,
        "batch": args.batch,
        "warmup_requests": warm_load.requests,
        "messages": args.messages,
        "requests": load.requests,
        "not_sent": load.not_sent,
        "seconds": round(load.seconds, 3),
        "accepted_messages": load.accepted_messages,
        "accepted_per_second": round(rate, 1),
        "requests_per_second": round(load.requests / load.seconds, 1) if load.seconds else 0.0,
        "latency_ms": {
            "p50": round(1000 * percentile(ordered, 0.50), 2),
            "p90": round(1000 * percentile(ordered, 0.90), 2),
            "p99": round(p99_ms, 2),
            "max": round(1000 * ordered[-1], 2) if ordered else math.nan,
        },
        "errors": errors,
        "error_kinds": dict(load.errors + warm_load.errors),
        "error_samples": load.error_samples + warm_load.error_samples,
        "duplicates": load.duplicates + warm_load.duplicates,
        "expected_rows": expected,
        "counted_rows": counted["rows"],
        "distinct_external_ids": counted["distinct_external_ids"],
        "lost": expected - counted["rows"],
        "cpu_percent_of_one_core": {
            "server": round(100 * load.server_cpu / load.seconds, 1) if load.seconds else 0.0,
            "load_generator": round(100 * load.client_cpu / load.seconds, 1)
            if load.seconds else 0.0,
            "whole_machine": round(100 * load.machine_cpu / load.seconds, 1)
            if load.seconds else 0.0,
        },
        "server_exit_code": exit_code,
        "server_log_levels": log_levels,
        "target": {
            "accepted_per_second_min": TARGET_RATE, "p99_ms_max": TARGET_P99_MS,
            "met": rate >= TARGET_RATE and p99_ms < TARGET_P99_MS and errors == 0
            and expected == counted["rows"],
        },
    }
    if args.profile != "none":
        result["profile"] = profile_summary(server, args.profile_top)
    return result


def table(results: list[dict[str, Any]]) -> str:
    header = (f"{'database':<11}{'clients':>8}{'batch':>6}{'accepted':>10}{'msg/s':>9}"
              f"{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'errors':>7}"
              f"{'expected':>10}{'counted':>9}{'lost':>6}  {'cpu srv/gen/all %':<18}target")
    rows = [header, "-" * len(header)]
    for r in results:
        latency, cpu = r["latency_ms"], r["cpu_percent_of_one_core"]
        rows.append(
            f"{r['database']:<11}{r['clients']:>8}{r['batch']:>6}{r['accepted_messages']:>10}"
            f"{r['accepted_per_second']:>9.1f}{r['requests_per_second']:>9.1f}"
            f"{latency['p50']:>8.2f}{latency['p99']:>8.2f}{latency['max']:>8.1f}"
            f"{r['errors']:>7}{r['expected_rows']:>10}{r['counted_rows']:>9}{r['lost']:>6}  "
            f"{cpu['server']:.0f}/{cpu['load_generator']:.0f}/{cpu['whole_machine']:.0f}"
            f"{'':<8}{'met' if r['target']['met'] else 'MISSED'}")
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--messages", type=int, default=20000,
                        help="messages measured (20000)")
    parser.add_argument("--batch", type=int, default=1,
                        help="messages per request; 1 sends a bare object (1)")
    parser.add_argument("--warmup", type=int, default=200,
                        help="warm-up requests before measuring (200)")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="stop sending after this long, per phase (300)")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="maintenance connection; guardian_bench is created beside it")
    parser.add_argument("--keep-db", action="store_true",
                        help="keep the guardian_bench PostgreSQL database afterwards")
    parser.add_argument("--profile", choices=["none", "cprofile", "py-spy"], default="none",
                        help="profile the server during the run")
    parser.add_argument("--py-spy", default="py-spy", help="py-spy executable")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    for name in ("clients", "messages", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.batch > 100:
        parser.error("--batch must be at most 100 (GUARDIAN_MAX_BATCH)")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    texts, corpus = load_texts()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    info = machine_info()
    results = [bench_one(kind, args, texts) for kind in kinds]
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    report = {"command": command, "machine": info, "texts": corpus,
              "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "results": results}
    print(f"command: {command}")
    print(f"machine: nproc {info['nproc']}, {info['cpu_model']}, {info['python']}, "
          f"{info['platform']}")
    print("packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
          + f", SQLite {info['sqlite']}")
    print(f"texts: {corpus}; target: >= {TARGET_RATE:.0f} accepted msg/s, "
          f"p99 < {TARGET_P99_MS:.0f} ms, 0 errors, 0 lost")
    print()
    print(table(results))
    for result in results:
        if "profile" in result:
            print(f"\n[{result['database']}] {result['profile']}")
    print()
    print(json.dumps({**report, "results": [{k: v for k, v in r.items() if k != "profile"}
                                            for r in results]}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    broken = any(r["lost"] != 0 or r["errors"] or r["not_sent"] or r["server_exit_code"] != 0
                 for r in results)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
