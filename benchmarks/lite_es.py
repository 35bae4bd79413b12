"""Lite Spanish model benchmark: texts per second of `predict_proba`, and the file size.

    .venv/bin/python benchmarks/lite_es.py [--model PATH] [--batch 1000] [--rounds 5]
        [--limit N] [--json results.json]

Texts are the `comment` column of shared/data/offendes/training_set.tsv when it is
present (they are never printed), else invented, mild Spanish ones of a similar length.
The figure is the best of `--rounds` passes over all texts in batches of `--batch`, on one
core (the model is single-threaded); the load average is printed beside it because other
processes on the machine lower it. Per-text latency at batch size 1 is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

from guardian.scoring.linear import HashedNgramModel, read_labelled_tsv, shipped_path

OFFENDES = Path(__file__).resolve().parents[2] / "shared" / "data" / "offendes" / "training_set.tsv"

_OPENINGS = ("hola", "buenas tardes", "oye", "mira", "la verdad", "perdona")
_MIDDLES = ("quería saber a qué hora abre el centro de salud",
            "el autobús de las ocho no ha pasado hoy por la plaza",
            "eres un tonto si piensas que nadie lee estos mensajes",
            "gracias por el vídeo de ayer, me gustó mucho la parte final",
            "menudo payaso, siempre diciendo lo mismo en cada directo",
            "¿dónde se recoge el carné de la biblioteca municipal?")
_ENDINGS = ("un saludo", "gracias", "😂😂", "👏👏👏", "hasta mañana", "")


def invented_texts(n: int, seed: int = 0) -> list[str]:
    """Mild Spanish comments of about the corpus's median length (~130 characters)."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(_OPENINGS)}, {rng.choice(_MIDDLES)} y {rng.choice(_MIDDLES)}. "
        f"{rng.choice(_ENDINGS)}"
        for _ in range(n)
    ]


def load_texts(limit: int | None) -> tuple[list[str], str]:
    if OFFENDES.is_file():
        texts, _, _ = read_labelled_tsv(OFFENDES, text_column="comment", label_column="label")
        source = f"OffendES comments ({OFFENDES.name})"
    else:
        texts, source = invented_texts(16_000), "invented mild texts (OffendES absent)"
    return (texts[:limit] if limit else texts), source


def passes(model: HashedNgramModel, texts: list[str], batch: int, rounds: int) -> list[float]:
    """Seconds of each pass over `texts` in batches of `batch`, after one warm-up batch."""
    batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    model.predict_proba(batches[0])
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        for chunk in batches:
            model.predict_proba(chunk)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=shipped_path("es"))
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="Use the first N texts only.")
    parser.add_argument("--json", type=Path, default=None, help="Also write results here.")
    args = parser.parse_args()
    if args.batch < 1 or args.rounds < 1:
        parser.error("--batch and --rounds must be >= 1")

    start = time.perf_counter()
    model = HashedNgramModel.load(args.model)
    load_seconds = time.perf_counter() - start
    texts, source = load_texts(args.limit)
    if not texts:
        parser.error("no texts")

    seconds = passes(model, texts, args.batch, args.rounds)
    single = passes(model, texts[:1000], 1, 1)[0] / min(len(texts), 1000)
    load_average = os.getloadavg()[0]
    results = {
        "model": str(args.model),
        "model_bytes": args.model.stat().st_size,
        "model_version": model.version,
        "load_seconds": round(load_seconds, 4),
        "texts": len(texts),
        "source": source,
        "mean_chars": round(statistics.fmean(len(t) for t in texts), 1),
        "batch": args.batch,
        "rounds": args.rounds,
        "texts_per_s_best": round(len(texts) / min(seconds), 1),
        "texts_per_s_median": round(len(texts) / statistics.median(seconds), 1),
        "latency_batch1_ms": round(single * 1000, 4),
        "cpus": os.cpu_count(),
        "load_average_1min": round(load_average, 2),
        "python": platform.python_version(),
    }
    print(f"model      {args.model} ({results['model_bytes'] / 1024:.0f} KiB, "
          f"version {model.version}, loaded in {load_seconds * 1000:.0f} ms)")
    print(f"texts      {len(texts)} {source}, mean {results['mean_chars']} characters")
    print(f"throughput {results['texts_per_s_best']:,.0f} texts/s best, "
          f"{results['texts_per_s_median']:,.0f} median of {args.rounds} "
          f"(batches of {args.batch}, one core)")
    print(f"latency    {results['latency_batch1_ms']:.3f} ms per text at batch size 1")
    # This process alone adds about 1 to the load average; more means other work.
    busy = load_average > 1.5
    print(f"machine    {results['cpus']} CPUs, load average {load_average:.2f}"
          + ("  (busy: figures are low)" if busy else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
