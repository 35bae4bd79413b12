"""A stand-in for the production scorer's speed, in a real `guardian` process.

No Detoxify weights can be downloaded here, and what the pipeline benchmarks measure is how
the engine orders and shares work while the scorer is slow, not the scores. `PacedModel`
gives the lite scorer's scores but takes as long per batch as the production scorer would:
`overhead_ms + len(texts) / rate` seconds, with the rate from benchmarks/detoxify_models.py
(XLM-R base, batch 32, in docs/performance.md). How it spends that time:

- `cpu`: matrix products in numpy until the time is up, which release the GIL and keep a
  core busy, as ONNX Runtime and torch do: the honest model of a scorer on this machine.
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

    def __init__(self, rate: float, *, overhead_ms: float = 5.0, pace: Pace = "cpu") -> None:
        from guardian.scoring.lite import LiteModel

        if rate <= 0:
            raise ValueError("rate must be positive (texts per second)")
        self.lite = LiteModel()
        self.languages = self.lite.languages
        self.rate = rate
        self.overhead = overhead_ms / 1000
        self.pace = pace
        self.version = f"paced {rate:g} texts/s ({pace}) around {self.lite.version}"
        rng = np.random.default_rng(0)
        self._a = rng.random((96, 96))

    def _spend(self, started: float, texts: int) -> None:
        until = started + self.overhead + texts / self.rate
        if self.pace == "sleep":
            time.sleep(max(0.0, until - time.perf_counter()))
            return
        a = self._a
        while time.perf_counter() < until:
            a = (a @ self._a) / 96.0  # a few tens of microseconds of work, GIL released

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        return self.score_languages(texts, [None] * len(texts))

    def score_languages(self, texts: Sequence[str], langs: Sequence[str | None]
                        ) -> list[LabelScores]:
        started = time.perf_counter()
        scores = self.lite.score_languages(texts, langs)
        self._spend(started, len(texts))
        return scores


def install(rate: float, pace: Pace, overhead_ms: float) -> None:
    """Make `load_model` (hence `guardian serve` and `guardian worker`) load the stand-in."""
    import guardian.scoring.select as select
    from guardian.config.settings import Settings
    from guardian.scoring.select import ScorerStatus
    from guardian.scoring.types import Model

    def load_model(settings: Settings, choice: str | None = None
                   ) -> tuple[Model, ScorerStatus]:
        model = PacedModel(rate, pace=pace, overhead_ms=overhead_ms)
        # As with Detoxify, the lite model finds the words to mask (guardian.scoring.select).
        return model, ScorerStatus("detoxify", model.name, model.variant, model.version,
                                   tuple(sorted(model.languages)), attributor=model.lite)

    select.load_model = load_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, required=True, help="texts per second")
    parser.add_argument("--pace", choices=["cpu", "sleep"], default="cpu")
    parser.add_argument("--overhead-ms", type=float, default=5.0, help="per batch")
    parser.add_argument("guardian", nargs=argparse.REMAINDER,
                        help="the guardian command after `--`")
    args = parser.parse_args(argv)
    command = [a for a in args.guardian if a != "--"] if args.guardian[:1] == ["--"] else (
        args.guardian)
    install(args.rate, args.pace, args.overhead_ms)
    from guardian.cli import main as guardian_main

    sys.argv = ["guardian", *command]
    guardian_main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
