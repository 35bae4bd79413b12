"""The fast hasher gives scikit-learn's `HashingVectorizer` features bit for bit, so both
shipped linear models score exactly as they did through scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import HashingVectorizer

from guardian.scoring import linear, signals
from guardian.scoring.hashing import NgramHasher
from guardian.scoring.normalise import normalise

ROOT = Path(__file__).resolve().parents[2]
WORDS = r"(?u)\b\w+\b"


def _texts() -> list[str]:
    texts = [json.loads(line)["text"] for line in
             (ROOT / "tests" / "data" / "town_messages.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    texts += [json.loads(line)["text"] for line in
              (ROOT / "training" / "signals" / "mixed.jsonl").read_text("utf-8").splitlines()
              [:600]]
    return [*texts, "", " ", "a", "ab", "  a  b\t\tc \n d ", "ñandú  ÇA\u00a0va\u2003ya",
            "x" * 3, "🐷🐷 eres un 🐷", "I'm   here\n\nnow", "q k a"]


def _reference(analyzer: str, ngrams: tuple[int, int], n_features: int,
               pattern: str = WORDS) -> HashingVectorizer:
    return HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=n_features,
                             token_pattern=pattern, alternate_sign=False, norm="l2",
                             lowercase=False, dtype=np.float32)


def _same(expected: Any, found: Any) -> bool:
    expected = expected.tocsr()
    return (expected.shape == found.shape
            and np.array_equal(expected.indptr, found.indptr)
            and np.array_equal(expected.indices, found.indices)
            and found.data.dtype == np.float32
            and np.array_equal(expected.data.view(np.uint32), found.data.view(np.uint32)))


CONFIGS = [("char_wb", (5, 5), 2**17, WORDS), ("word", (1, 1), 2**17, WORDS),
           ("char_wb", (4, 4), 2**17, WORDS), ("word", (1, 2), 2**17, WORDS),
           ("char", (2, 4), 2**17, WORDS), ("char_wb", (2, 4), 2**10, WORDS),
           ("char", (1, 3), 97, WORDS), ("word", (2, 3), 2**10, r"(?u)\b\w\w+\b")]


@pytest.mark.parametrize(("analyzer", "ngrams", "n_features", "pattern"), CONFIGS)
def test_the_same_matrix_as_scikit_learn(analyzer: str, ngrams: tuple[int, int],
                                         n_features: int, pattern: str) -> None:
    texts = _texts()
    reference = _reference(analyzer, ngrams, n_features, pattern)
    # A small memory, so that it is emptied on the way; each batch twice (seen, unseen).
    hasher = NgramHasher(analyzer, ngrams, n_features, token_pattern=pattern,
                         cache_size=300)
    for start in range(0, len(texts), 97):
        batch = texts[start:start + 97]
        for _ in range(2):
            assert _same(reference.transform(batch), hasher.transform(batch))
    # Keys (text x column) too large for 32 bits.
    wide = 2**31 - 1
    assert _same(_reference(analyzer, ngrams, wide, pattern).transform(texts[:50]),
                 NgramHasher(analyzer, ngrams, wide, token_pattern=pattern).transform(
                     texts[:50]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab ñé\t\n.,'ÇA🐷1_"), max_size=30),
                min_size=1, max_size=6))
def test_any_text_hashes_as_scikit_learn_hashes_it(texts: list[str]) -> None:
    for analyzer, ngrams, n_features, pattern in CONFIGS[:5]:
        assert _same(_reference(analyzer, ngrams, n_features, pattern).transform(texts),
                     NgramHasher(analyzer, ngrams, n_features,
                                 token_pattern=pattern).transform(texts))


def test_word_classes_are_read_from_a_table_with_the_same_columns() -> None:
    codes = [signals.class_codes(signals.prepare(normalise(t).text)) for t in _texts()]
    for ngrams in ((2, 4), (1, 3)):
        tabled = NgramHasher("char", ngrams, 2**17, alphabet=signals.CLASS_ALPHABET)
        assert _same(_reference("char", ngrams, 2**17).transform(codes),
                     tabled.transform(codes))
        for short in (["__"], ["y", ""], ["ym", "_"], [""]):
            assert _same(_reference("char", ngrams, 2**17).transform(short),
                         tabled.transform(short))
        # A character outside the alphabet: the general path, the same answer.
        assert _same(_reference("char", ngrams, 2**17).transform(["yx", "y_@"]),
                     tabled.transform(["yx", "y_@"]))
    with pytest.raises(ValueError, match="alphabet"):
        NgramHasher("word", (1, 1), 16, alphabet="ab")


def test_an_empty_batch_and_empty_texts() -> None:
    hasher = NgramHasher("char_wb", (3, 3), 64)
    assert hasher.transform([]).shape == (0, 64)
    assert hasher.transform(["", " "]).nnz == 0
    with pytest.raises(TypeError):
        hasher.transform("a text")


def _signal_features_by_scikit_learn(prepared: list[str],
                                     settings: signals.SignalSettings) -> Any:
    from scipy import sparse

    blocks = [_reference(settings.char_analyzer, settings.char_ngrams,
                         settings.n_features).transform(prepared),
              _reference("word", settings.word_ngrams, settings.n_features).transform(prepared),
              _reference("char", settings.class_ngrams, settings.n_features).transform(
                  [signals.class_codes(t) for t in prepared])]
    blocks[2] = blocks[2] * settings.class_weight
    return sparse.hstack(blocks, format="csr")


def test_the_shipped_models_score_as_through_scikit_learn() -> None:
    texts = [normalise(t).text for t in _texts()]
    model = signals.shipped()
    assert model is not None
    prepared = [signals.prepare(t) for t in texts]
    x = _signal_features_by_scikit_learn(prepared, model.settings)
    expected = np.asarray((x @ model._weights).toarray(),  # type: ignore[attr-defined]
                          dtype=np.float64) + model.intercepts
    assert np.array_equal(model.logits(texts), expected)

    lite = linear.load_shipped("es")
    plain = [linear.normalise(t) for t in texts]
    words = _reference("word", lite.settings.word_ngrams, lite.settings.n_features)
    chars = _reference("char_wb", lite.settings.char_ngrams, lite.settings.n_features)
    z = words.transform(plain) @ lite.word_coef + chars.transform(plain) @ lite.char_coef
    assert np.array_equal(lite.decision_function(texts),
                          np.asarray(z, dtype=np.float64) + lite.intercept)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ymt_@#h"), max_size=7), min_size=1,
                max_size=5))
def test_any_word_classes_hash_as_scikit_learn_hashes_them(codes: list[str]) -> None:
    for ngrams in ((2, 4), (1, 2), (3, 5)):
        assert _same(_reference("char", ngrams, 2**17).transform(codes),
                     NgramHasher("char", ngrams, 2**17,
                                 alphabet=signals.CLASS_ALPHABET).transform(codes))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=45), max_size=40))
def test_many_strings_hash_as_murmurhash3_32_hashes_each(strings: list[str]) -> None:
    from sklearn.utils import murmurhash3_32

    from guardian.scoring.hashing import hash_strings

    strings = [s for s in strings if not any("\ud800" <= c <= "\udfff" for c in s)]
    for n_features in (2**17, 97, 2**31 - 1):
        assert hash_strings(strings, n_features).tolist() == [
            abs(murmurhash3_32(s, 0, False)) % n_features for s in strings]
