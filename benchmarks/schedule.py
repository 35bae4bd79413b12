"""Schedule benchmark: precomputed timeline look-ups over a year, minute by minute.

A generated policy (40 staff in four time zones, 10 teams, rotations with hourly, 12-hour,
daily and weekly turns, layers and restrictions, the example town's holidays, 20 overrides)
is compiled into a `Timeline` for one year. Then every minute of that year is looked up:
`on_duty` and `on_call` for every team and `is_working` for every member of staff (by
default; `--people N` / `--teams N` reduce it). It prints look-ups per second, the time to
build the timeline, the timeline's own memory (tracemalloc, measured in a separate build
so tracing does not slow the look-ups), and the process's peak RSS.

    .venv/bin/python benchmarks/schedule.py [--year 2026] [--days 365] [--json FILE]

Target: at least 200,000 look-ups per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import random
import resource
import shlex
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine_speed import probe  # noqa: E402
from guardian.policy.model import (  # noqa: E402
    Layer,
    Policy,
    Rotation,
    StaffMember,
    Team,
    WeekSchedule,
)
from guardian.policy_files.loader import load_policy  # noqa: E402
from guardian.schedule.duty import on_duty  # noqa: E402
from guardian.schedule.overrides import Override  # noqa: E402
from guardian.schedule.timeline import Timeline  # noqa: E402

TARGET = 200_000
ZONES = ["Europe/Madrid", "Europe/Madrid", "Atlantic/Canary", "Europe/London",
         "America/New_York"]
WORKING = [{"mon-fri": "08:00-15:00"}, {"mon-fri": ["09:00-14:00", "17:00-19:00"]},
           {"mon-sat": "06:00-13:00"}, {"mon-thu": "07:30-15:30", "fri": "07:30-13:30"},
           {"sun-thu": "22:00-06:00"}]
QUIET = ["22:00-07:00", "21:30-07:00", "23:00-08:00", "10:00-18:00"]
SHIFTS = ["hourly", "12h", "daily", "weekly", "P2D"]


def generated_policy() -> Policy:
    town = load_policy(REPO / "policies").policy
    assert town is not None, "the example policy must load"
    staff = tuple(StaffMember(
        id=f"p{i:02d}", name=f"Person {i}", timezone=ZONES[i % len(ZONES)],
        working_hours=WeekSchedule.parse(WORKING[i % len(WORKING)]),
        quiet_hours=WeekSchedule.parse(QUIET[i % len(QUIET)]))
        for i in range(40))
    teams, rotations = [], []
    for t in range(10):
        members = [staff[(4 * t + k) % 40].id for k in range(4)]
        base = Layer(name="base", priority=0, members=members, shift=SHIFTS[t % 5],
                     hand_off=dt.time(8, 0), start=dt.date(2025, 12, 1))
        layers = [base]
        if t % 2:
            layers.append(Layer(name="days", priority=1, members=members[:2],
                                shift="daily", hand_off=dt.time(9, 0),
                                start=dt.date(2025, 12, 1),
                                restrictions=WeekSchedule.parse({"mon-fri": "09:00-17:00"})))
        rotation = Rotation(id=f"r{t}", name=f"Rotation {t}", timezone=ZONES[t % 4],
                            layers=layers)
        rotations.append(rotation)
        teams.append(Team(id=f"t{t}", name=f"Team {t}", members=members,
                          duty=rotation.id if t % 3 == 0 else None, on_call=rotation.id))
    return town.model_copy(update={"staff": staff, "teams": tuple(teams),
                                   "rotations": tuple(rotations), "categories": ()})


def overrides(policy: Policy, year: int, seed: int = 11) -> list[Override]:
    rng = random.Random(seed)
    result = []
    for i in range(20):
        start = dt.datetime(year, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=rng.randrange(8000))
        team = rng.choice(policy.teams)
        kind = rng.choice(["add", "remove", "replace"])
        person = rng.choice(policy.staff).id
        replaces = rng.choice([m for m in team.members if m != person]) if (
            kind == "replace") else None
        result.append(Override(id=i, kind=kind, person=person, replaces=replaces,
                               start=start, end=start + dt.timedelta(days=rng.randint(1, 7)),
                               reason="benchmark", team=team.id))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--teams", type=int, default=10, help="teams looked up each minute")
    parser.add_argument("--people", type=int, default=40, help="staff looked up each minute")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    policy = generated_policy()
    moves = overrides(policy, args.year)
    start = dt.datetime(args.year, 1, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=args.days)

    began = time.perf_counter()
    timeline = Timeline.build(policy, start, end, overrides=moves)
    build_seconds = time.perf_counter() - began

    teams = [t.id for t in policy.teams][:args.teams]
    people = [p.id for p in policy.staff][:args.people]
    counts = {"on_duty": 0, "on_call": 0, "is_working": 0}
    seconds = dict.fromkeys(counts, 0.0)
    minute = dt.timedelta(minutes=1)
    gc.collect()
    for day in range(args.days):
        # One day's instants at a time: made outside the timed loops, bounded in memory.
        first = start + dt.timedelta(days=day)
        instants = [first + i * minute for i in range(1440)]
        for kind, method, keys in (("on_duty", timeline.on_duty, teams),
                                   ("on_call", timeline.on_call, teams),
                                   ("is_working", timeline.is_working, people)):
            t0 = time.perf_counter()
            for key in keys:
                for at in instants:
                    method(key, at)
            seconds[kind] += time.perf_counter() - t0
            counts[kind] += len(keys) * len(instants)
    total = sum(counts.values())
    rate = total / sum(seconds.values())

    # For scale: the direct (un-precomputed) answer, on a sample.
    sample = [start + dt.timedelta(minutes=random.Random(3).randrange(args.days * 1440))
              for _ in range(2000)]
    t0 = time.perf_counter()
    for at in sample:
        on_duty(policy, teams[0], at, moves)
    direct_rate = len(sample) / (time.perf_counter() - t0)

    # The timeline's own memory, in a build of its own under tracemalloc.
    del timeline
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    kept = Timeline.build(policy, start, end, overrides=moves)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    speed = probe()
    figures: dict[str, Any] = {
        "machine_speed": speed.to_json(),
        "command": shlex.join([".venv/bin/python", "benchmarks/schedule.py", *sys.argv[1:]]),
        "python": platform.python_version(), "machine": platform.machine(),
        "days": args.days, "teams": len(teams), "people": len(people),
        "lookups": total, "lookups_per_second": round(rate),
        "per_kind_per_second": {k: round(counts[k] / seconds[k]) for k in counts},
        "direct_on_duty_per_second": round(direct_rate),
        "build_seconds": round(build_seconds, 3),
        "timeline_retained_mib": round((retained - baseline) / 2**20, 2),
        "build_peak_mib": round((peak - baseline) / 2**20, 2),
        "max_rss_mib": round(max_rss_mib, 1),
        "target_lookups_per_second": TARGET,
    }
    print(f"$ {figures['command']}")
    print(f"policy: 40 staff, 10 teams, {len(policy.rotations)} rotations, "
          f"{len(moves)} overrides; {args.days} days from {start.date()}")
    print(f"timeline build: {build_seconds:.2f} s; retained {figures['timeline_retained_mib']} "
          f"MiB (tracemalloc), build peak {figures['build_peak_mib']} MiB")
    print(f"look-ups: {total:,} in {sum(seconds.values()):.2f} s = {rate:,.0f}/s "
          f"(target {TARGET:,}/s: {'met' if rate >= TARGET else 'NOT met'})")
    for kind in counts:
        print(f"  {kind:<11} {counts[kind]:>12,}  {counts[kind] / seconds[kind]:>12,.0f}/s")
    print(f"direct on_duty (no timeline), for scale: {direct_rate:,.0f}/s")
    print(f"peak RSS: {max_rss_mib:.1f} MiB; Python {platform.python_version()}")
    print(speed.describe())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
