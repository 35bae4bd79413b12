"""Ingest side by side with its yardstick: Guardian's `POST /api/v1/messages` against a bare
aiohttp + asyncpg server doing one INSERT per request (benchmarks/bare_ingest_server.py),
on PostgreSQL, in one run, under the same load generator.

In a fresh `guardian_bench` database (migrated with `guardian db upgrade`) it starts both
servers as processes, `guardian serve --no-worker` with an ingest token and the bare server
writing to `bare_messages` (`LIKE messages INCLUDING ALL`), warms both up, then alternates
rounds, bare then Guardian, each posting `--messages` messages one per request from
`--clients` concurrent clients with benchmarks/ingest.py's `replay`. After the last round
both servers stop and the rows of each table are counted: every accepted message must be
there. Reported: per round and in total, requests/s, latency p50/p90/p99/max, errors,
expected and counted rows, CPU, the load average, and Guardian's rate as a fraction of the
bare server's (target: >= 0.6, Guardian's p99 < 50 ms, nothing lost).

    .venv/bin/python benchmarks/ingest_vs_bare.py [--rounds 3] [--clients 32]
        [--messages 20000] [--pool 10] [--profile py-spy --py-spy /tmp/pyspy/bin/py-spy]
        [--json results.json]

Alternating rounds matter on a small shared machine: its speed drifts over a minute, and
other work may start; the ratio of neighbouring rounds is robust to both, absolute rates
are not. `--profile py-spy` samples Guardian's server over all its rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import secrets
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script too: make `benchmarks` importable

from benchmarks.ingest import (  # noqa: E402
    BENCH_DATABASE,
    SOURCE,
    TARGET_P99_MS,
    Load,
    Server,
    bodies,
    guardian,
    guardian_env,
    load_texts,
    machine_info,
    percentile,
    postgresql_database,
    profile_summary,
    read_proc,
    replay,
    start_server,
    stop_server,
)

BARE_SERVER = REPO / "benchmarks" / "bare_ingest_server.py"
BARE_TABLE = "bare_messages"
TARGET_RATIO = 0.6
KINDS = ("bare", "guardian")


def load_average() -> str:
    return " ".join(read_proc("/proc/loadavg").split()[:3]) or "unknown"


def summary(loads: list[Load], expected: int, counted: int) -> dict[str, Any]:
    """One server's figures over its rounds (latencies pooled, rates over the summed time)."""
    seconds = sum(load.seconds for load in loads)
    requests = sum(load.requests for load in loads)
    ordered = sorted(latency for load in loads for latency in load.latencies)
    errors: dict[str, int] = {}
    for load in loads:
        for kind, count in load.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "requests": requests,
        "seconds": round(seconds, 3),
        "requests_per_second": round(requests / seconds, 1) if seconds else 0.0,
        "accepted_messages": sum(load.accepted_messages for load in loads),
        "latency_ms": latency_ms(ordered),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "error_samples": [s for load in loads for s in load.error_samples][:3],
        "not_sent": sum(load.not_sent for load in loads),
        "expected_rows": expected,
        "counted_rows": counted,
        "lost": expected - counted,
        "cpu_percent_of_one_core": {
            "server": round(100 * sum(x.server_cpu for x in loads) / seconds, 1),
            "load_generator": round(100 * sum(x.client_cpu for x in loads) / seconds, 1),
            "whole_machine": round(100 * sum(x.machine_cpu for x in loads) / seconds, 1),
        } if seconds else {},
    }


def latency_ms(ordered: list[float]) -> dict[str, float]:
    return {"p50": round(1000 * percentile(ordered, 0.50), 2),
            "p90": round(1000 * percentile(ordered, 0.90), 2),
            "p99": round(1000 * percentile(ordered, 0.99), 2),
            "max": round(1000 * ordered[-1], 2) if ordered else math.nan}


def round_line(index: int, kind: str, load: Load) -> dict[str, Any]:
    return {"round": index + 1, "server": kind, "requests": load.requests,
            "seconds": round(load.seconds, 3),
            "requests_per_second": round(load.requests / load.seconds, 1) if load.seconds
            else 0.0,
            "latency_ms": latency_ms(sorted(load.latencies)),
            "errors": sum(load.errors.values()),
            "server_cpu_percent": round(100 * load.server_cpu / load.seconds, 1)
            if load.seconds else 0.0,
            "machine_cpu_percent": round(100 * load.machine_cpu / load.seconds, 1)
            if load.seconds else 0.0}


def sessions_opened(admin_url: str) -> int:
    """How many connections the bench database has been opened since its creation
    (PostgreSQL's own count, read through the maintenance database): a pool that opens a
    connection per request shows here, and costs PostgreSQL a process each time."""
    import asyncpg

    async def read() -> int:
        conn = await asyncpg.connect(admin_url)
        try:
            return int(await conn.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = $1", BENCH_DATABASE)
                or 0)
        finally:
            await conn.close()

    return asyncio.run(read())


def count_rows(url: str) -> dict[str, int]:
    import asyncpg

    async def count() -> dict[str, int]:
        conn = await asyncpg.connect(url)
        try:
            return {table: int(await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE source = $1", SOURCE))
                for table in ("messages", BARE_TABLE)}
        finally:
            await conn.close()

    return asyncio.run(count())


def run(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    database = postgresql_database(args.pg_admin_url, args.keep_db)
    try:
        with tempfile.TemporaryDirectory(prefix="guardian-bench-bare-") as tmp:
            return run_in(Path(tmp), database.url, database.server_version, args, texts)
    finally:
        database.cleanup()


def run_in(workdir: Path, url: str, server_version: str, args: argparse.Namespace,
           texts: list[str]) -> dict[str, Any]:
    env = guardian_env(url)
    print(f"[postgresql] {guardian(['db', 'upgrade'], env, workdir)}", file=sys.stderr)
    token = guardian(["tokens", "create", "--role", "ingest", "--name", "bench"], env,
                     workdir).splitlines()[-1]
    run_id = secrets.token_hex(4)
    servers: dict[str, Server] = {}
    warm: dict[str, Load] = {}
    rounds: dict[str, list[Load]] = {kind: [] for kind in KINDS}
    lines: list[dict[str, Any]] = []
    load_before = load_average()
    try:
        servers["bare"] = start_server(
            env, workdir, "none", args.py_spy, name="bare",
            program=lambda port: [str(BARE_SERVER), "--dsn", url, "--port", str(port),
                                  "--table", BARE_TABLE, "--pool", str(args.pool)])
        servers["guardian"] = start_server(env, workdir, args.profile, args.py_spy,
                                           name="guardian")
        print(f"[postgresql] bare on {servers['bare'].base}, guardian on "
              f"{servers['guardian'].base}; {args.rounds} round(s) of {args.messages} "
              f"messages each", file=sys.stderr)
        for kind in KINDS:
            server = servers[kind]
            warm[kind] = asyncio.run(replay(
                f"{server.base}/api/v1/messages", token,
                bodies(texts, run_id, f"{kind}-warm", args.warmup, 1), args.clients,
                args.max_seconds, server.process.pid))
        for index in range(args.rounds):
            for kind in KINDS:
                server = servers[kind]
                work = bodies(texts, run_id, f"{kind}-{index}", args.messages, 1)
                sessions = sessions_opened(args.pg_admin_url)
                load = asyncio.run(replay(f"{server.base}/api/v1/messages", token, work,
                                          args.clients, args.max_seconds, server.process.pid))
                rounds[kind].append(load)
                lines.append({**round_line(index, kind, load),
                              "connections_opened": sessions_opened(args.pg_admin_url)
                              - sessions})
                print(f"  round {index + 1} {kind:<9} {lines[-1]['requests_per_second']:>8.1f}"
                      f" req/s  p99 {lines[-1]['latency_ms']['p99']:.1f} ms, "
                      f"{lines[-1]['connections_opened']} connection(s) opened",
                      file=sys.stderr)
    finally:
        exit_codes = {kind: stop_server(server) for kind, server in servers.items()}
    load_after = load_average()
    counted = count_rows(url)
    results = {
        kind: {
            **summary(rounds[kind], warm[kind].accepted_messages
                      + sum(load.accepted_messages for load in rounds[kind]),
                      counted["messages" if kind == "guardian" else BARE_TABLE]),
            "warmup_errors": sum(warm[kind].errors.values()),
            "server_exit_code": exit_codes[kind],
            "server_log_levels": servers[kind].log_levels(),
        }
        for kind in KINDS
    }
    pairs = [g.requests / g.seconds / (b.requests / b.seconds)
             for b, g in zip(rounds["bare"], rounds["guardian"], strict=True)
             if g.seconds and b.seconds and b.requests]
    bare_rate = results["bare"]["requests_per_second"]
    ratio = results["guardian"]["requests_per_second"] / bare_rate if bare_rate else 0.0
    mine = results["guardian"]
    report: dict[str, Any] = {
        "database": "postgresql", "server": server_version, "clients": args.clients,
        "messages_per_round": args.messages, "rounds": args.rounds, "pool": args.pool,
        "load_average_before": load_before, "load_average_after": load_after,
        "results": results, "per_round": lines,
        "ratio": round(ratio, 3), "ratio_per_round": [round(p, 3) for p in pairs],
        "target": {"ratio_min": TARGET_RATIO, "p99_ms_max": TARGET_P99_MS,
                   "met": ratio >= TARGET_RATIO and mine["latency_ms"]["p99"] < TARGET_P99_MS
                   and not mine["errors"] and not mine["lost"] and not mine["warmup_errors"]},
    }
    if args.profile != "none":
        report["profile"] = profile_summary(servers["guardian"], args.profile_top)
    return report


def table(report: dict[str, Any]) -> str:
    header = (f"{'server':<10}{'requests':>9}{'req/s':>9}{'p50 ms':>8}{'p90 ms':>8}"
              f"{'p99 ms':>8}{'max ms':>8}{'errors':>7}{'expected':>10}{'counted':>9}"
              f"{'lost':>6}  cpu srv/gen/all %")
    rows = [header, "-" * len(header)]
    for kind in KINDS:
        r = report["results"][kind]
        latency, cpu = r["latency_ms"], r["cpu_percent_of_one_core"]
        rows.append(
            f"{kind:<10}{r['requests']:>9}{r['requests_per_second']:>9.1f}"
            f"{latency['p50']:>8.2f}{latency['p90']:>8.2f}{latency['p99']:>8.2f}"
            f"{latency['max']:>8.1f}{r['errors'] + r['warmup_errors']:>7}"
            f"{r['expected_rows']:>10}{r['counted_rows']:>9}{r['lost']:>6}  "
            f"{cpu.get('server', 0):.0f}/{cpu.get('load_generator', 0):.0f}/"
            f"{cpu.get('whole_machine', 0):.0f}")
    rows.append("")
    rows.append("per round (req/s, p99 ms): " + "; ".join(
        f"{line['round']}{line['server'][0]} {line['requests_per_second']:.0f}, "
        f"{line['latency_ms']['p99']:.1f}" for line in report["per_round"]))
    rows.append(f"guardian / bare: {report['ratio']:.3f} (per round: "
                + ", ".join(f"{p:.3f}" for p in report["ratio_per_round"])
                + f"); target >= {TARGET_RATIO} with p99 < {TARGET_P99_MS:.0f} ms, nothing "
                f"lost: {'met' if report['target']['met'] else 'MISSED'}")
    rows.append(f"load average (1, 5, 15 min) before {report['load_average_before']}, "
                f"after {report['load_average_after']}")
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each server (3)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--messages", type=int, default=20000,
                        help="messages per round, one per request (20000)")
    parser.add_argument("--warmup", type=int, default=200,
                        help="warm-up requests to each server first (200)")
    parser.add_argument("--pool", type=int, default=10,
                        help="the bare server's connections (10)")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="stop sending after this long, per round (300)")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="maintenance connection; guardian_bench is created beside it")
    parser.add_argument("--keep-db", action="store_true",
                        help="keep the guardian_bench database afterwards")
    parser.add_argument("--profile", choices=["none", "cprofile", "py-spy"], default="none",
                        help="profile Guardian's server over its rounds")
    parser.add_argument("--py-spy", default="py-spy", help="py-spy executable")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    for name in ("rounds", "clients", "messages", "pool"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    texts, corpus = load_texts()
    info = machine_info()
    report = run(args, texts)
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    full = {"command": command, "machine": info, "texts": corpus,
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **report}
    print(f"command: {command}")
    print(f"machine: nproc {info['nproc']}, {info['cpu_model']}, {info['python']}, "
          f"{info['platform']}; speed probe {info['machine_speed']}")
    print("packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
          + f"; {report['server']}")
    print(f"texts: {corpus}; {args.clients} clients, {args.rounds} round(s) of "
          f"{args.messages} messages per server, alternating bare, guardian")
    print()
    print(table(report))
    if "profile" in report:
        print(f"\n[guardian] {report['profile']}")
    print()
    print(json.dumps({k: v for k, v in full.items() if k != "profile"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(full, indent=2) + "\n")
    broken = any(r["lost"] or r["errors"] or r["warmup_errors"] or r["not_sent"]
                 or r["server_exit_code"] != 0 for r in report["results"].values())
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
