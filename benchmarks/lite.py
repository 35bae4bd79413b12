"""Lite scorer: texts/s and memory, the bare models versus Guardian's whole scoring stage.

    .venv/bin/python benchmarks/lite.py [--seconds 10] [--batch 256]

Prints the machine speed probe (`benchmarks/machine_speed.py`, run after the measurements
so that its memory does not count in the peak RSS) and the load average before and after,
to read the figures against, and each rate per second of the process's own CPU time too
(on a machine shared with other jobs the wall-clock rate falls when they run; the CPU rate
much less). `PYTHONPATH=../baseline .venv/bin/python benchmarks/lite.py` measures another
worktree's scorer with this script (the report says which `guardian` it imported).

English texts: the Davidson tweets; Spanish: the OffendES comments (both from
../shared/data when present, generated mild text otherwise). Texts are never printed.
"Bare" is the lite model alone (alt-profanity-check for English, our hashed n-gram model
for Spanish); "stage" is `Assessor.assess`: language detection, normalisation, the model,
lexicons and rules, levels, leave-one-word-out attribution and masking.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# The repository last on the path, for `benchmarks.machine_speed`: the scorer is still
# imported from PYTHONPATH first (a baseline worktree's, when measuring one).
sys.path.append(str(Path(__file__).resolve().parents[1]))

import guardian
from benchmarks.machine_speed import probe
from guardian.scoring.assessor import Assessor
from guardian.scoring.lite import LiteModel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _english() -> list[str]:
    path = DATA / "davidson-2017" / "labeled_data.csv"
    if not path.exists():
        return [f"Please fix the street lamp number {i} on Main Street" for i in range(5000)]
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["tweet"] for row in csv.DictReader(handle)]


def _spanish() -> list[str]:
    path = DATA / "offendes" / "training_set.tsv"
    if not path.exists():
        return [f"La farola número {i} de la calle Real no funciona" for i in range(5000)]
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row["comment"] for row in rows if row.get("comment")]


def _rate(run: Callable[[Sequence[str]], object], texts: list[str], batch: int,
          seconds: float) -> tuple[float, float]:
    """Texts per second of wall time, and per second of this process's CPU time (what
    other people's jobs on the machine disturb least)."""
    done, started, index = 0, time.perf_counter(), 0
    cpu = time.process_time()
    while time.perf_counter() - started < seconds:
        chunk = texts[index:index + batch] or texts[:batch]
        index = (index + batch) % len(texts)
        run(chunk)
        done += len(chunk)
    return (done / (time.perf_counter() - started),
            done / max(time.process_time() - cpu, 1e-9))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = LiteModel()
    assessor = Assessor(model=model)
    assessor.assess(["warm up", "calentar"])
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results: list[dict[str, Any]] = []
    for lang, texts in (("en", _english()), ("es", _spanish())):
        langs = [lang] * args.batch
        bare, bare_cpu = _rate(lambda chunk, langs=langs: model.score_languages(  # type: ignore[misc]
            chunk, langs[:len(chunk)]), texts, args.batch, args.seconds)
        stage, stage_cpu = _rate(assessor.assess, texts, args.batch, args.seconds)
        hinted, hinted_cpu = _rate(lambda chunk, langs=langs: assessor.assess(  # type: ignore[misc]
            chunk, langs[:len(chunk)]), texts, args.batch, args.seconds)
        results.append({"lang": lang, "texts": len(texts), "bare_texts_per_s": round(bare),
                        "stage_texts_per_s": round(stage),
                        "stage_with_language_hint_texts_per_s": round(hinted),
                        "per_cpu_second": {"bare": round(bare_cpu), "stage": round(stage_cpu),
                                           "stage_with_language_hint": round(hinted_cpu)}})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load_after = os.getloadavg()[0]
    speed = probe()  # after the peak is read: the probe's list alone is 140 MB
    report = {"command": " ".join([".venv/bin/python", *sys.argv]), "batch": args.batch,
              "guardian": str(Path(guardian.__file__).parent),
              "machine_speed": speed.to_json(),
              "load_average": {"before": round(load_before, 2),
                               "after": round(load_after, 2)},
              "results": results,
              "rss_mib": {"before_load": round(rss_before / 1024, 1),
                          "after_load": round(loaded_rss / 1024, 1),
                          "peak": round(peak / 1024, 1)}}
    print(f"guardian from {Path(guardian.__file__).parent}")
    for row in results:
        cpu = row["per_cpu_second"]
        print(f"{row['lang']}: bare {row['bare_texts_per_s']:>7,}/s   stage "
              f"{row['stage_texts_per_s']:>6,}/s   stage with lang hint "
              f"{row['stage_with_language_hint_texts_per_s']:>6,}/s   (per CPU second: "
              f"{cpu['bare']:,} / {cpu['stage']:,} / {cpu['stage_with_language_hint']:,})")
    print(f"peak RSS {report['rss_mib']['peak']} MiB (model loaded: "
          f"{report['rss_mib']['after_load']} MiB)")
    print(f"{speed.describe()}, after the run; load average {load_before:.2f} before, "
          f"{load_after:.2f} after")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
