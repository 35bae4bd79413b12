"""Storm detection on generated pile-ons and ordinary traffic: how soon a pile-on is
caught (messages and minutes from its first hostile message to the shield) and how often
ordinary traffic is taken for one (false alarms per week), for the storm thresholds given
(the defaults: the early window and the broad one) and for the broad thresholds alone
(the rule before the early window), in the same run.

    .venv/bin/python benchmarks/storms.py [--seed 7] [--pileups 2000] [--weeks 20]
        [--messages-per-day 3000] [--abusive-share 0.03] [--rude-share 0.10]
        [--early-authors 3] [--early-window 10] [--json FILE]

Pile-ons: 5 to 40 accounts aim 1 to 3 messages each at one person over 2 to 60 minutes
(levels: 70% abusive, 20% rude, 10% threats), mixed into ordinary traffic. Ordinary
traffic: a town's day of messages (`--messages-per-day`) at daytime-weighted instants, one
author each mostly (some write twice), aimed at one of 40 people (a third of messages
mention someone) or one of 10 teams; a share is rude and a share abusive, each written
independently (no coordination): what a town sees on a normal week, angry days included.
A false alarm is a storm declared on that traffic alone. The same functions as the
decision stage (`StormTally`, `storm_of`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from guardian.decide import Recent, StormTally, storm_of  # noqa: E402
from guardian.decide.inputs import ABUSIVE  # noqa: E402
from guardian.policy.harassment import Level  # noqa: E402
from guardian.policy.model import StormThresholds  # noqa: E402

START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
PEOPLE = [f"person:p{i}" for i in range(40)]
TEAMS = [f"team:t{i}" for i in range(10)]


@dataclass(frozen=True)
class Arrival:
    at: dt.datetime
    author: str
    target: str
    level: Level
    storm_id: int | None = None  # the pile-on it belongs to


def _daytime(rng: random.Random, day: int) -> dt.datetime:
    # Most messages between 08:00 and 23:00, some at night.
    hour = rng.choice(range(8, 23)) if rng.random() < 0.9 else rng.choice(range(0, 8))
    return START + dt.timedelta(days=day, hours=hour, seconds=rng.randrange(3600))


def ordinary(rng: random.Random, days: int, per_day: int, abusive: float, rude: float
             ) -> list[Arrival]:
    arrivals = []
    for day in range(days):
        for n in range(per_day):
            author = f"c{day}-{n}" if rng.random() < 0.8 else f"c{day}-{rng.randrange(n + 1)}"
            target = rng.choice(PEOPLE) if rng.random() < 1 / 3 else rng.choice(TEAMS)
            draw = rng.random()
            level: Level = ("abusive" if draw < abusive else "rude" if draw < abusive + rude
                            else "none")
            arrivals.append(Arrival(_daytime(rng, day), author, target, level))
    return arrivals


def pileup(rng: random.Random, ident: int, at: dt.datetime) -> list[Arrival]:
    target = rng.choice(PEOPLE)
    authors = rng.randint(5, 40)
    minutes = rng.uniform(2, 60)
    found = []
    for a in range(authors):
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            draw = rng.random()
            level: Level = "abusive" if draw < 0.7 else "rude" if draw < 0.9 else "threat"
            found.append(Arrival(at + dt.timedelta(minutes=rng.uniform(0, minutes)),
                                 f"s{ident}-{a}", target, level, ident))
    return found


def detect(arrivals: list[Arrival], thresholds: StormThresholds, early_on: bool
           ) -> list[tuple[Arrival, bool]]:
    """Each arrival and whether it set a storm off, as the decision stage decides."""
    tally = StormTally(thresholds.window_minutes)
    early = StormTally(thresholds.early_window_minutes, ABUSIVE)
    window = dt.timedelta(minutes=thresholds.window_minutes)
    started: dict[str, dt.datetime] = {}  # target -> the last storm start (one per window)
    out = []
    for item in sorted(arrivals, key=lambda a: a.at):
        author = item.author
        count = tally.count(item.target, author, item.at)
        first_count = early.count(item.target, author, item.at) if early_on else None
        stormy = storm_of(count.adding(author, item.level, item.at), thresholds,
                          first_count.adding(author, item.level, item.at)
                          if first_count is not None else None)
        before = storm_of(count, thresholds, first_count)
        last = started.get(item.target)
        first = (stormy is not None and before is None
                 and (last is None or item.at - last > window))
        if first:
            started[item.target] = item.at
        out.append((item, first))
        recent = Recent(author, item.target, item.level, item.at, None)
        tally.add(recent)
        early.add(recent)
    return out


def measure(args: argparse.Namespace, thresholds: StormThresholds, early_on: bool
            ) -> dict[str, object]:
    rng = random.Random(args.seed)
    # False alarms: ordinary traffic alone.
    traffic = ordinary(rng, 7 * args.weeks, args.messages_per_day, args.abusive_share,
                       args.rude_share)
    alarms = [a for a, first in detect(traffic, thresholds, early_on) if first]
    on_people = sum(a.target.startswith("person:") for a in alarms)
    # Pile-ons: each mixed into a day of ordinary traffic around it.
    rng = random.Random(args.seed + 1)
    caught, messages_before, minutes_before, reached = 0, [], [], []
    for ident in range(args.pileups):
        at = _daytime(rng, 0)
        storm = pileup(rng, ident, at)
        around = [a for a in ordinary(rng, 1, args.messages_per_day, args.abusive_share,
                                      args.rude_share)
                  if abs((a.at - at).total_seconds()) < 3 * 3600]
        decided = detect([*storm, *around], thresholds, early_on)
        mine = [(a, first) for a, first in decided if a.storm_id == ident]
        hostile = [(a, first) for a, first in mine if a.level != "none"]
        index = next((i for i, (a, _) in enumerate(hostile)
                      if any(f for b, f in decided if f and b.target == a.target
                             and b.at <= a.at)), None)
        if index is None:
            reached.append(len(hostile))
            continue
        caught += 1
        messages_before.append(index)
        minutes_before.append((hostile[index][0].at - hostile[0][0].at).total_seconds() / 60)
        # Hostile messages decided before the shield (without a request, each is only a
        # count in the target's digest, and one not delivered yet is held at the shield).
        reached.append(index)
    return {
        "thresholds": thresholds.model_dump(), "early_window": early_on,
        "ordinary_messages": len(traffic), "weeks": args.weeks,
        "false_alarms_per_week": round(len(alarms) / args.weeks, 2),
        "false_alarms_per_week_on_people": round(on_people / args.weeks, 2),
        "pileups": args.pileups, "caught_share": round(caught / args.pileups, 4),
        "hostile_messages_before_shield_median": statistics.median(messages_before)
        if messages_before else None,
        "hostile_messages_before_shield_p90": _p90(messages_before),
        "minutes_to_shield_median": round(statistics.median(minutes_before), 2)
        if minutes_before else None,
        "minutes_to_shield_p90": _p90(minutes_before),
        "hostile_messages_before_shield_mean": round(statistics.fmean(reached), 2),
    }


def _p90(values: list[float] | list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(float(ordered[int(0.9 * (len(ordered) - 1))]), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pileups", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--messages-per-day", type=int, default=3000)
    parser.add_argument("--abusive-share", type=float, default=0.03)
    parser.add_argument("--rude-share", type=float, default=0.10)
    parser.add_argument("--early-authors", type=int, default=None)
    parser.add_argument("--early-window", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    changes = {k: v for k, v in (("early_authors", args.early_authors),
                                 ("early_window_minutes", args.early_window)) if v}
    thresholds = StormThresholds(**changes)
    report = {"command": " ".join([".venv/bin/python", *sys.argv]),
              "with_early_window": measure(args, thresholds, True),
              "broad_window_only": measure(args, thresholds, False)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
