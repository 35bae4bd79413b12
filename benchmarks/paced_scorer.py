"""A stand-in for the production scorer's speed, in a real `guardian` process.

No Detoxify weights can be downloaded here, and what the pipeline benchmarks measure is how
the engine orders and shares work while the scorer is slow, not the scores. `PacedModel`
gives the lite scorer's scores but takes as long per batch as the production scorer would:
`overhead_ms + len(texts) / rate` seconds, with the rate from benchmarks/detoxify_models.py
(XLM-R base, batch 32, in docs/performance.md). How it spends that time:

- `cpu`: a fixed amount of work per text (small matrix products in numpy, which release
  the GIL, as ONNX Runtime and torch do), calibrated so that one text takes 1/rate s on an
  idle core: under contention it takes longer, as a real scorer would. The honest model of
  scorers sharing this machine's cores. Calibrate once, on a quiet machine, and give every
  process the same figure (`--work-rate`, from `calibrate()`).
- `sleep`: it sleeps, using no CPU: the model of scorers on other hosts' cores (a city
  adding worker machines), where only the database and the pipeline's own work are local.

Run `guardian` with it (any command, e.g. `serve` or `worker`)::

    python -m benchmarks.paced_scorer --rate 150 --pace cpu -- serve --port 8080

It replaces `guardian.scoring.select.load_model` before the CLI imports the engine, then
runs the CLI in this process: the app, the pipeline and the database are the real ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Literal

import numpy as np

from guardian.types import LabelScores

Pace = Literal["cpu", "sleep"]


class PacedModel:
    """The lite scorer's scores at the production scorer's speed (see the module)."""

    name = "detoxify"
    variant = "paced-stand-in"

    def __init__(self, rate: float, *, overhead_ms: float = 5.0, pace: Pace = "cpu",
                 work_rate: float | None = None) -> None:
        from guardian.scoring.lite import LiteModel

        if rate <= 0:
            raise ValueError("rate must be positive (texts per second)")
        self.lite = LiteModel()
        self.languages = self.lite.languages
        self.rate = rate
        self.overhead = overhead_ms / 1000
        self.pace = pace
        self.version = f"paced {rate:g} texts/s ({pace}) around {self.lite.version}"
        # Units of work an idle core does in a second (see `calibrate`).
        self.work_rate = work_rate or calibrate() if pace == "cpu" else 0.0

    def _spend(self, started: float, texts: int) -> None:
        seconds = self.overhead + texts / self.rate
        if self.pace == "sleep":
            time.sleep(max(0.0, started + seconds - time.perf_counter()))
            return
        _work(round(seconds * self.work_rate))

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        return self.score_languages(texts, [None] * len(texts))

    def score_languages(self, texts: Sequence[str], langs: Sequence[str | None]
                        ) -> list[LabelScores]:
        started = time.perf_counter()
        scores = self.lite.score_languages(texts, langs)
        self._spend(started, len(texts))
        return scores


_UNIT = np.random.default_rng(0).random((96, 96))


def _work(units: int) -> None:
    """`units` small matrix products (tens of microseconds each, the GIL released)."""
    a = _UNIT
    for _ in range(units):
        a = (a @ _UNIT) / 96.0


def calibrate(seconds: float = 0.5) -> float:
    """Units of `_work` this process does in a second now (run it on a quiet machine)."""
    _work(50)  # warm up
    units, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        _work(100)
        units += 100
    return units / elapsed


def install(rate: float, pace: Pace, overhead_ms: float, work_rate: float | None = None
            ) -> None:
    """Make `load_model` (hence `guardian serve` and `guardian worker`) load the stand-in."""
    import guardian.scoring.select as select
    from guardian.config.settings import Settings
    from guardian.scoring.select import ScorerStatus
    from guardian.scoring.types import Model

    def load_model(settings: Settings, choice: str | None = None
                   ) -> tuple[Model, ScorerStatus]:
        model = PacedModel(rate, pace=pace, overhead_ms=overhead_ms, work_rate=work_rate)
        # As with Detoxify, the lite model finds the words to mask (guardian.scoring.select).
        return model, ScorerStatus("detoxify", model.name, model.variant, model.version,
                                   tuple(sorted(model.languages)), attributor=model.lite)

    select.load_model = load_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, required=True, help="texts per second")
    parser.add_argument("--pace", choices=["cpu", "sleep"], default="cpu")
    parser.add_argument("--overhead-ms", type=float, default=5.0, help="per batch")
    parser.add_argument("--work-rate", type=float,
                        help="units of work an idle core does a second (cpu pace; measured "
                             "here at start when not given)")
    parser.add_argument("guardian", nargs=argparse.REMAINDER,
                        help="the guardian command after `--`")
    args = parser.parse_args(argv)
    command = [a for a in args.guardian if a != "--"] if args.guardian[:1] == ["--"] else (
        args.guardian)
    install(args.rate, args.pace, args.overhead_ms, args.work_rate)
    from guardian.cli import main as guardian_main

    sys.argv = ["guardian", *command]
    guardian_main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
