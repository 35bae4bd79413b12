"""Lite scorer: texts/s and memory, the bare models versus Guardian's whole scoring stage.

    .venv/bin/python benchmarks/lite.py [--seconds 10] [--batch 256]

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
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

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
          seconds: float) -> float:
    done, started, index = 0, time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        chunk = texts[index:index + batch] or texts[:batch]
        index = (index + batch) % len(texts)
        run(chunk)
        done += len(chunk)
    return done / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = LiteModel()
    assessor = Assessor(model=model)
    assessor.assess(["warm up", "calentar"])
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = []
    for lang, texts in (("en", _english()), ("es", _spanish())):
        langs = [lang] * args.batch
        bare = _rate(lambda chunk, langs=langs: model.score_languages(  # type: ignore[misc]
            chunk, langs[:len(chunk)]), texts, args.batch, args.seconds)
        stage = _rate(assessor.assess, texts, args.batch, args.seconds)
        hinted = _rate(lambda chunk, langs=langs: assessor.assess(  # type: ignore[misc]
            chunk, langs[:len(chunk)]), texts, args.batch, args.seconds)
        results.append({"lang": lang, "texts": len(texts), "bare_texts_per_s": round(bare),
                        "stage_texts_per_s": round(stage),
                        "stage_with_language_hint_texts_per_s": round(hinted)})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"command": " ".join([".venv/bin/python", *sys.argv]), "batch": args.batch,
              "results": results,
              "rss_mib": {"before_load": round(rss_before / 1024, 1),
                          "after_load": round(loaded_rss / 1024, 1),
                          "peak": round(peak / 1024, 1)}}
    for row in results:
        print(f"{row['lang']}: bare {row['bare_texts_per_s']:>7,}/s   stage "
              f"{row['stage_texts_per_s']:>6,}/s   stage with lang hint "
              f"{row['stage_with_language_hint_texts_per_s']:>6,}/s")
    print(f"peak RSS {report['rss_mib']['peak']} MiB (model loaded: "
          f"{report['rss_mib']['after_load']} MiB)")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
