"""Decision benchmark: `decide()` on a generated town, with a prebuilt timeline.

A generated policy (40 staff in four time zones with working and quiet hours, 10 teams of
four with a category each and keywords in two languages, on-call rotations for every team
and duty rotations for some, the example town's escalation chains, urgency rules,
moderators and limits) and a `Timeline` over a week. Then a stream of messages at random
instants in that week is decided, one by one, with contexts like the pipeline's: a mix of
plain requests, mentions of staff, emergencies, rude, abusive and threatening messages,
muted authors, recent messages (storms, duplicates), notification counts near the rate
limit, open pages. It prints decisions per second, the mix of outcomes, and the cost of
`to_json()` on top.

    .venv/bin/python benchmarks/decide.py [--messages 50000] [--seed 7] [--json FILE]

Target: at least 20,000 decisions per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import shlex
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine_speed import probe  # noqa: E402
from guardian.decide import (  # noqa: E402
    Context,
    Judged,
    OpenPage,
    Post,
    Recent,
    decide,
)
from guardian.policy.harassment import LEVELS, Level  # noqa: E402
from guardian.policy.model import (  # noqa: E402
    Category,
    Layer,
    Moderation,
    Policy,
    Rotation,
    StaffMember,
    Team,
    WeekSchedule,
)
from guardian.policy_files.loader import load_policy  # noqa: E402
from guardian.schedule.timeline import Timeline  # noqa: E402

TARGET = 20_000
ZONES = ["Europe/Madrid", "Europe/Madrid", "Atlantic/Canary", "Europe/London",
         "America/New_York"]
WORKING = [{"mon-fri": "08:00-15:00"}, {"mon-fri": ["09:00-14:00", "17:00-19:00"]},
           {"mon-sat": "06:00-13:00"}, {"mon-thu": "07:30-15:30", "fri": "07:30-13:30"},
           {"sun-thu": "22:00-06:00"}]
QUIET = ["22:00-07:00", "21:30-07:00", "23:00-08:00", "20:00-05:30"]
WORDS = [("farola", "streetlight"), ("basura", "rubbish"), ("sala", "booking"),
         ("cita", "appointment"), ("denuncia", "police"), ("bache", "pothole"),
         ("parque", "park"), ("agua", "water"), ("biblioteca", "library"),
         ("mercado", "market")]


def generated_policy() -> Policy:
    town = load_policy(REPO / "policies").policy
    assert town is not None, "the example policy must load"
    staff = tuple(StaffMember(
        id=f"p{i:02d}", name=f"Person {i}", timezone=ZONES[i % len(ZONES)],
        handles={"twitter": f"@person{i}"},
        working_hours=WeekSchedule.parse(WORKING[i % len(WORKING)]),
        quiet_hours=WeekSchedule.parse(QUIET[i % len(QUIET)]))
        for i in range(40))
    teams, rotations, categories = [], [], []
    for t in range(10):
        members = [staff[4 * t + k].id for k in range(4)]
        rotation = Rotation(id=f"r{t}", name=f"On call {t}", timezone="Europe/Madrid",
                            layers=[Layer(members=members, shift="weekly",
                                          hand_off=dt.time(8, 0), start=dt.date(2026, 1, 5))])
        rotations.append(rotation)
        es, en = WORDS[t]
        categories.append(Category(id=f"c{t}", keywords={"es": [es], "en": [en]},
                                   hashtags={"any": [f"#{es}"]}))
        teams.append(Team(id=f"t{t}", name=f"Team {t}", members=members, lead=members[0],
                          categories=[f"c{t}"] + (["general"] if t == 0 else []),
                          duty=rotation.id if t % 3 == 0 else None, on_call=rotation.id))
    categories.append(Category(id="general"))
    assert town.escalation is not None
    escalation = town.escalation.model_copy(update={"last_resort": "p00"})
    return town.model_copy(update={
        "staff": staff, "teams": tuple(teams), "rotations": tuple(rotations),
        "categories": tuple(categories), "escalation": escalation,
        "moderation": Moderation(moderators=["p01", "p05"], hr=["p02"])})


def stream(policy: Policy, start: dt.datetime, count: int, seed: int
           ) -> list[tuple[Post, Judged, Context, dt.datetime]]:
    rng = random.Random(seed)
    staff = [p.id for p in policy.staff]
    levels: list[Level] = [*LEVELS[:1] * 14, *LEVELS[1:2] * 3, *LEVELS[2:3] * 2, LEVELS[3]]
    items = []
    for i in range(count):
        at = start + dt.timedelta(seconds=rng.randrange(6 * 86400))
        es, en = rng.choice(WORDS)
        lang = rng.choice(["es", "es", "en", None])
        word = en if lang == "en" else es
        text = rng.choice([f"Hola, el {word} de mi calle", f"Problema con {word} otra vez",
                           f"#{es} sigue igual", f"Hay fuego cerca del {word}",
                           f"{word}: hay un cable caído", f"Gracias por lo del {word}"])
        if rng.random() < 0.2:
            text = f"@person{rng.randrange(40)} {text}"
        level = rng.choice(levels)
        author = f"@a{rng.randrange(2000)}"
        recent = tuple(Recent(f"twitter:a{rng.randrange(50)}",
                              rng.choice(["person:p04", "team:t1"]),
                              rng.choice(levels), at - dt.timedelta(minutes=rng.randrange(60)),
                              None) for _ in range(rng.choice([0, 0, 2, 8])))
        context = Context(
            author_strikes=rng.choice([0, 0, 0, 1, 3]),
            muted_until=at + dt.timedelta(days=1) if rng.random() < 0.03 else None,
            recent=recent,
            sent_last_hour={rng.choice(staff): rng.randrange(8) for _ in range(3)},
            open_pages=(OpenPage("1", "t2", "c2", at),) if rng.random() < 0.1 else ())
        scores = {"insult": 0.9} if level in ("rude", "abusive") else (
            {"threat": 0.8} if level == "threat" else {})
        items.append((Post("twitter", str(i), author, text, lang),
                      Judged(scores, level, text, lang), context, at))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    policy = generated_policy()
    start = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    began = time.perf_counter()
    # As the pipeline keeps it: from just before now to at least a week past the newest
    # message (digests and escalation steps are looked up there).
    timeline = Timeline.build(policy, start - dt.timedelta(hours=1),
                              start + dt.timedelta(days=6 + 8))
    build_seconds = time.perf_counter() - began
    items = stream(policy, start, args.messages, args.seed)

    decide(*items[0][:3], policy, items[0][3], timeline)  # compile the rules once
    gc.collect()
    # Like a worker: decide, note what was decided, let the decision go (keeping 50,000
    # of them alive would mostly measure the garbage collector walking them).
    kinds: Counter[str] = Counter()
    t0 = time.perf_counter()
    for post, judged, context, at in items:
        kinds.update(o.kind for o in decide(post, judged, context, policy, at,
                                            timeline).outcomes)
    seconds = time.perf_counter() - t0
    rate = len(items) / seconds

    sample = items[:5000]
    decided = [decide(post, judged, context, policy, at, timeline)
               for post, judged, context, at in sample]
    t0 = time.perf_counter()
    for decision in decided:
        json.dumps(decision.to_json())
    json_per_decision = (time.perf_counter() - t0) / len(decided)

    few = items[:2000]
    t0 = time.perf_counter()
    for post, judged, context, at in few:
        decide(post, judged, context, policy, at)
    direct_rate = len(few) / (time.perf_counter() - t0)
    speed = probe()
    figures: dict[str, Any] = {
        "machine_speed": speed.to_json(),
        "command": shlex.join([".venv/bin/python", "benchmarks/decide.py", *sys.argv[1:]]),
        "python": platform.python_version(), "machine": platform.machine(),
        "staff": len(policy.staff), "teams": len(policy.teams),
        "messages": len(items), "decisions_per_second": round(rate),
        "microseconds_per_decision": round(1e6 / rate, 1),
        "to_json_microseconds": round(json_per_decision * 1e6, 1),
        "with_to_json_per_second": round(1 / (1 / rate + json_per_decision)),
        "without_timeline_per_second": round(direct_rate),
        "timeline_build_seconds": round(build_seconds, 3),
        "outcomes": dict(kinds.most_common()),
        "target_decisions_per_second": TARGET,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"$ {figures['command']}")
    print(f"policy: {len(policy.staff)} staff, {len(policy.teams)} teams, "
          f"{len(policy.rotations)} rotations; timeline over 14 days built in "
          f"{build_seconds:.2f} s")
    print(f"decisions: {len(items):,} in {seconds:.2f} s = {rate:,.0f}/s "
          f"({1e6 / rate:.1f} µs each; target {TARGET:,}/s: "
          f"{'met' if rate >= TARGET else 'NOT met'})")
    print(f"to_json() + json.dumps: {figures['to_json_microseconds']} µs a decision; "
          f"decide + JSON: {figures['with_to_json_per_second']:,}/s")
    print(f"without a timeline (schedule computed), for scale: {direct_rate:,.0f}/s")
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in kinds.most_common()))
    print(f"load average while running: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs (other work on the machine lowers the figures)")
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(speed.describe())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
