"""The lite scorer: no download, English and Spanish, weaker than Detoxify and says so.

English: the `alt-profanity-check` package (a linear model over word n-grams). Spanish: our
hashed character n-gram model trained on OffendES (`guardian train-lite`), shipped in
`guardian/scoring/data/lite-es.npz`. Both give one probability of offensive language, which
becomes `toxicity`; the other labels come only from lexicons and rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from guardian.scoring.linear import HashedNgramModel
from guardian.scoring.profanity import EnglishModel
from guardian.types import LABELS, LabelScores

SPANISH_WEIGHTS = Path(str(resources.files("guardian.scoring").joinpath("data/lite-es.npz")))
LIMITATIONS = ("The lite scorer knows English and Spanish only, gives one offensive-language "
               "probability (toxicity), and finds threats, insults and personal data only "
               "through lexicons and rules; Detoxify is much better.")


class LiteModel:
    name = "lite"
    variant = "en+es"
    languages = frozenset({"en", "es"})

    def __init__(self, spanish_weights: Path = SPANISH_WEIGHTS) -> None:
        self._english = EnglishModel().predict_proba
        self._spanish = HashedNgramModel.load(spanish_weights)
        self.version = (f"alt-profanity-check {metadata.version('alt-profanity-check')}, "
                        f"lite-es {self._spanish.version}")

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        return self.score_languages(texts, [None] * len(texts))

    def score_languages(self, texts: Sequence[str], langs: Sequence[str | None]
                        ) -> list[LabelScores]:
        """English texts by the English model, Spanish by the Spanish one; a text in
        another or an unknown language gets the higher of the two."""
        if not texts:
            return []
        english = np.zeros(len(texts))
        spanish = np.zeros(len(texts))
        want_en = [i for i, lang in enumerate(langs) if lang != "es"]
        want_es = [i for i, lang in enumerate(langs) if lang != "en"]
        if want_en:
            english[want_en] = self._english([texts[i] for i in want_en])
        if want_es:
            spanish[want_es] = self._spanish.predict_proba([texts[i] for i in want_es])
        results = []
        for index, lang in enumerate(langs):
            if lang == "en":
                value = english[index]
            elif lang == "es":
                value = spanish[index]
            else:
                value = max(english[index], spanish[index])
            scores = dict.fromkeys(LABELS, 0.0)
            scores["toxicity"] = float(value)
            results.append(scores)
        return results
