"""The English half of the lite scorer gives alt-profanity-check's own numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from profanity_check import predict_prob

from guardian.scoring.profanity import EnglishModel

ROOT = Path(__file__).resolve().parents[2]


def _texts() -> list[str]:
    texts = [json.loads(line)["text"] for line in
             (ROOT / "tests" / "data" / "town_messages.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    texts += [json.loads(line)["text"] for line in
              (ROOT / "training" / "signals" / "voice_b.jsonl").read_text("utf-8").splitlines()
              [:400]]
    return [*texts, "", "the the the", "???", "You you YOU", "ñandú"]


def test_the_same_probabilities_as_predict_prob() -> None:
    texts = _texts()
    model = EnglishModel()
    assert model._fast is not None, "the model's shape changed: scored by the library"
    for start in range(0, len(texts), 256):
        batch = texts[start:start + 256]
        assert np.array_equal(model.predict_proba(batch), predict_prob(batch))
    assert model.predict_proba([]).shape == (0,)


def test_a_model_of_another_shape_is_scored_by_the_library() -> None:
    texts = _texts()[:100]
    model = EnglishModel()
    model._fast = None
    assert np.array_equal(model.predict_proba(texts), predict_prob(texts))
