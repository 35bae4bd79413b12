"""What every scorer is: a model that gives a probability for each of Detoxify's labels
(`guardian.types.LABELS`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from guardian.types import LabelScores


class Model(Protocol):
    """A scoring model: CPU-bound and synchronous (callers run it in an executor).

    `score` returns one mapping per text with a probability in [0, 1] for every label in
    `LABELS` (a label the model does not predict is 0.0).
    """

    name: str           # "detoxify", "lite"
    variant: str        # "multilingual", "original", ..., or "en+es" for lite
    version: str        # package or weights version, recorded with every score
    languages: frozenset[str]  # ISO 639-1 codes the model covers

    def score(self, texts: Sequence[str]) -> list[LabelScores]: ...


@runtime_checkable
class LanguageAwareModel(Model, Protocol):
    """A model that picks its weights by language (the lite scorer: English and Spanish)."""

    def score_languages(self, texts: Sequence[str], langs: Sequence[str | None]
                        ) -> list[LabelScores]: ...
