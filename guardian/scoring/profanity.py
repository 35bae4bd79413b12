"""alt-profanity-check's English model, the same numbers at less cost.

The lite scorer's English half is `profanity_check.predict_prob`: a TF-IDF vectorizer
(word unigrams, English stop words) and a `CalibratedClassifierCV` of five linear SVMs
with sigmoid calibration. Called on a batch it spends about a third of its time checking
inputs it made itself (scikit-learn's `check_array` runs a dozen times per call) and then
applies a Python function to every row (`np.apply_along_axis`). `EnglishModel` reads the
fitted parameters once and computes the same arithmetic in the same order: counts in the
vectorizer's columns, times the idf, scikit-learn's own L2 normalisation, one sparse
product for the five decision functions (a product per column, as each SVM's own), the
sigmoid of each and their mean. `tests/scoring/test_profanity.py` holds it to
`predict_prob` exactly. A model of another shape (a future release) is scored through
the library as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import expit
from sklearn import config_context
from sklearn.preprocessing import normalize

from guardian.scoring.hashing import SAME_TOKENS

__all__ = ["EnglishModel"]


class EnglishModel:
    """P(offensive) of English texts, as `profanity_check.predict_prob` gives it."""

    def __init__(self) -> None:
        # Imported here: the package loads its model at import time (about 0.3 s).
        from profanity_check import profanity_check

        self._vectorizer = profanity_check.vectorizer
        self._model = profanity_check.model
        self._fast = _read(self._vectorizer, self._model)

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        if not texts:
            return np.zeros(0)
        if self._fast is None:
            with config_context(skip_parameter_validation=True, assume_finite=True):
                features = self._vectorizer.transform(texts)
                return np.asarray(self._model.predict_proba(features)[:, 1])
        return self._fast.predict_proba(texts)


class _Fitted:
    """The fitted parameters, read once (see the module docstring)."""

    def __init__(self, vectorizer: Any, model: Any) -> None:
        stop = vectorizer.get_stop_words() or frozenset()
        # Stop words are dropped before the look-up; none is a column, but say so here.
        self.vocabulary = {w: i for w, i in vectorizer.vocabulary_.items() if w not in stop}
        self.columns = len(vectorizer.vocabulary_)
        self.tokens = re.compile(SAME_TOKENS.get(vectorizer.token_pattern,
                                                 vectorizer.token_pattern))
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        classifiers = model.calibrated_classifiers_
        # (features x classifiers): each SVM's coefficients as one column.
        self.coef = np.ascontiguousarray(np.column_stack(
            [np.asarray(c.estimator.coef_, dtype=np.float64).ravel() for c in classifiers]))
        self.intercept = np.array([float(np.ravel(c.estimator.intercept_)[0])
                                   for c in classifiers])
        self.a = [c.calibrators[0].a_ for c in classifiers]
        self.b = [c.calibrators[0].b_ for c in classifiers]

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        vocabulary, find = self.vocabulary, self.tokens.findall
        found = [[c for t in find(text.lower()) if (c := vocabulary.get(t)) is not None]
                 for text in texts]
        rows = len(found)
        columns = np.fromiter(chain.from_iterable(found), dtype=np.int64,
                              count=sum(map(len, found)))
        owners = np.repeat(np.arange(rows, dtype=np.int64),
                           np.fromiter(map(len, found), dtype=np.int64, count=rows))
        # CountVectorizer: each column's count, columns sorted within a row.
        keys, counts = np.unique(owners * self.columns + columns, return_counts=True)
        owner, column = np.divmod(keys, self.columns)
        indptr = np.zeros(rows + 1, dtype=np.int32)
        np.cumsum(np.bincount(owner, minlength=rows), out=indptr[1:])
        data = counts.astype(np.float64)
        data *= self.idf[column]  # TfidfTransformer
        x = sparse.csr_matrix((data, column.astype(np.int32), indptr),
                              shape=(rows, self.columns))
        x = normalize(x, norm="l2", copy=False)
        decisions = np.asarray(x @ self.coef) + self.intercept
        mean = np.zeros(rows)
        for k, (a, b) in enumerate(zip(self.a, self.b, strict=True)):
            probability = expit(-(a * decisions[:, k] + b))
            probability[(probability > 1.0) & (probability <= 1.0 + 1e-5)] = 1.0
            mean += probability
        mean /= len(self.a)
        return mean


def _read(vectorizer: Any, model: Any) -> _Fitted | None:
    """The fitted parameters when the model has the shape `_Fitted` computes, else None."""
    try:
        from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
        from sklearn.feature_extraction.text import TfidfVectorizer

        expected_vectorizer = (
            type(vectorizer) is TfidfVectorizer and vectorizer.analyzer == "word"
            and tuple(vectorizer.ngram_range) == (1, 1) and vectorizer.lowercase
            and vectorizer.strip_accents is None and vectorizer.preprocessor is None
            and vectorizer.tokenizer is None and not vectorizer.binary
            and vectorizer.input == "content" and vectorizer.use_idf
            and not vectorizer.sublinear_tf and vectorizer.norm == "l2"
            and vectorizer.dtype in (np.float64, float) and len(vectorizer.idf_)
            == len(vectorizer.vocabulary_))
        classes = list(model.classes_)
        expected_model = (
            type(model) is CalibratedClassifierCV and model.method == "sigmoid"
            and len(classes) == 2 and all(
                list(c.estimator.classes_) == classes and list(c.classes) == classes
                and np.shape(c.estimator.coef_) == (1, len(vectorizer.vocabulary_))
                and np.size(c.estimator.intercept_) == 1 and len(c.calibrators) == 1
                and type(c.calibrators[0]) is _SigmoidCalibration
                for c in model.calibrated_classifiers_))
    except (AttributeError, ImportError, TypeError):
        return None
    if not (expected_vectorizer and expected_model):
        return None
    return _Fitted(vectorizer, model)
