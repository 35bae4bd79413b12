"""A compact offline offensive-language classifier: hashed n-grams and a linear model.

The "lite" scorer for languages Detoxify serves poorly (Spanish first). Features are
word n-grams and `char_wb` character n-grams, hashed as scikit-learn's stateless
`HashingVectorizer` hashes them (`hashing.py` makes the same features faster) into two
separate blocks (so the word "tonto" and the 5-gram "tonto"
of "tontos" do not share a weight), each L2-normalised. A logistic regression with
balanced class weights is trained on them; only its coefficients, its intercept and the
hashing parameters are shipped, in a single `.npz` with no pickle. Inference is two
hashing passes and two sparse dot products, without any fitted estimator.

Text is normalised inside the model, the same way at training and at inference:
NFKC (folds full-width and compatibility forms), `casefold`, accents stripped (commenters
write "estúpido" and "estupido" alike; one spelling should not hide the other) except
that "ñ" is kept ("año" and "ano" are different words). Elongations ("tontoooo") are not
squashed: the regular expression cost about 15% of the throughput for no measurable AUC,
and the 5-grams at the start of an elongated word already match the plain word's.

Throughput is bounded by the hashing, which costs about the same per n-gram whatever the
n: hence one n-gram order per block rather than the usual 2-5 range, which scores barely
better (+0.003 ROC-AUC on OffendES) at a third of the speed. (The hasher now remembers
each word's n-grams, so a word seen before costs a look-up; a new word still costs one
hash per n-gram.)
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from guardian.scoring.hashing import NgramHasher

# Bumped whenever the file layout or the meaning of a stored parameter changes.
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent / "data"
OFFENDES_POSITIVE: tuple[str, ...] = ("OFP", "OFG")

# Neutral, invented probe texts: their scores are stored at save time and recomputed at
# load time, so that a scikit-learn release that changed the hashing fails loudly instead
# of silently scoring with scrambled weights.
_PROBES: tuple[str, ...] = (
    "¿A qué hora abre el centro de salud?",
    "Muchas gracias por la ayuda, hasta mañana.",
    "El autobús número 12 no pasa por la plaza.",
)
_PROBE_TOLERANCE = 1e-4


def _accent_table() -> dict[int, str]:
    """Map accented Latin letters (and stray combining marks) to their base letter."""
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        if char in "ñÑ":
            continue
        decomposed = unicodedata.normalize("NFD", char)
        if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]):
            table[code] = decomposed[0]
    # Marks NFKC could not compose (a letter with no precomposed form). "n" + U+0303
    # never gets here: NFKC has already composed it into "ñ".
    for code in range(0x0300, 0x0370):
        table[code] = ""
    return table


_ACCENTS = _accent_table()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _unaccent(run: re.Match[str]) -> str:
    return run.group().translate(_ACCENTS)

_WORD_TOKENS = r"(?u)\b\w+\b"  # keeps one-letter tokens such as "q" or "k" of chat Spanish


def normalise(text: str, *, strip_accents: bool = True) -> str:
    """The model's view of a text (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if strip_accents and not text.isascii():  # isascii is O(1)-cheap; translate is not
        # Only the runs of non-ASCII characters: a third of the cost of the whole text.
        text = _NON_ASCII.sub(_unaccent, text)
    return text


@dataclass(frozen=True)
class LiteSettings:
    """Feature and regularisation settings; stored in the model file."""

    word_ngrams: tuple[int, int] = (1, 1)
    char_ngrams: tuple[int, int] = (5, 5)
    n_features: int = 2**17  # per block
    strip_accents: bool = True
    c: float = 2.0  # inverse regularisation strength (LogisticRegression's C)
    max_iter: int = 1000

    def __post_init__(self) -> None:
        for name in ("word_ngrams", "char_ngrams"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ValueError(f"{name}: expected 1 <= min <= max, got {(low, high)}")
        if self.n_features < 2 or self.n_features > 2**24:
            raise ValueError(f"n_features: expected 2..2**24, got {self.n_features}")
        if not self.c > 0:
            raise ValueError(f"c: expected > 0, got {self.c}")

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        # Lists, as JSON would give them back: a saved and a fresh report compare equal.
        out["word_ngrams"], out["char_ngrams"] = list(self.word_ngrams), list(self.char_ngrams)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LiteSettings:
        return cls(
            word_ngrams=(int(data["word_ngrams"][0]), int(data["word_ngrams"][1])),
            char_ngrams=(int(data["char_ngrams"][0]), int(data["char_ngrams"][1])),
            n_features=int(data["n_features"]),
            strip_accents=bool(data["strip_accents"]),
            c=float(data["c"]),
            max_iter=int(data["max_iter"]),
        )


@dataclass(frozen=True)
class ModelMetadata:
    """Where a model comes from. Empty strings and None mean "not recorded"."""

    language: str = ""
    training_file: str = ""  # a file name, never a full path
    rows: int = 0
    positives: int = 0
    seed: int = 0
    cv_folds: int = 0
    cv_auc_mean: float | None = None
    cv_auc_std: float | None = None
    created: str = ""  # ISO date

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelMetadata:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _vectorizers(settings: LiteSettings) -> tuple[NgramHasher, NgramHasher]:
    """The word and character blocks' hashers: `HashingVectorizer(norm="l2",
    alternate_sign=False, lowercase=False, dtype=float32)`'s features (`hashing.py`)."""
    words = NgramHasher("word", settings.word_ngrams, settings.n_features,
                        token_pattern=_WORD_TOKENS)
    chars = NgramHasher("char_wb", settings.char_ngrams, settings.n_features)
    return words, chars


def _features(
    texts: Sequence[str], settings: LiteSettings, vectorizers: tuple[NgramHasher, ...]
) -> tuple[Any, ...]:
    if isinstance(texts, str):
        # A bare string is a Sequence[str] of characters: almost certainly a mistake.
        raise TypeError("expected a sequence of texts, got a single str")
    normalised = [normalise(t, strip_accents=settings.strip_accents) for t in texts]
    return tuple(v.transform(normalised) for v in vectorizers)


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    # tanh form: no overflow warning for large |z| (warnings are errors in the tests).
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True, eq=False)
class HashedNgramModel:
    """A trained lite model: settings, weights and metadata. Immutable once built."""

    settings: LiteSettings
    word_coef: NDArray[np.float32]
    char_coef: NDArray[np.float32]
    intercept: float
    metadata: ModelMetadata = field(default_factory=ModelMetadata)
    _vectorizers: tuple[NgramHasher, NgramHasher] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        expected = (self.settings.n_features,)
        for name in ("word_coef", "char_coef"):
            coef = np.array(getattr(self, name), dtype=np.float32)  # a private copy
            if coef.shape != expected:
                raise ValueError(f"{name}: expected shape {expected}, got {coef.shape}")
            if not np.all(np.isfinite(coef)):
                raise ValueError(f"{name}: not all finite")
            coef.flags.writeable = False
            object.__setattr__(self, name, coef)
        if not math.isfinite(self.intercept):
            raise ValueError("intercept: not finite")
        object.__setattr__(self, "intercept", float(self.intercept))
        object.__setattr__(self, "_vectorizers", _vectorizers(self.settings))

    # -- training ------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[bool] | NDArray[np.bool_],
        *,
        seed: int,
        settings: LiteSettings | None = None,
        metadata: ModelMetadata | None = None,
    ) -> HashedNgramModel:
        """Train on `texts` with `labels` (True = offensive). Deterministic given `seed`."""
        settings = settings or LiteSettings()
        y = _as_labels(labels, len(texts))
        vectorizers = _vectorizers(settings)
        blocks = _features(texts, settings, vectorizers)
        estimator = _fit_estimator(sparse.hstack(blocks, format="csr"), y, seed, settings)
        coef = np.asarray(estimator.coef_, dtype=np.float64).ravel()
        n = settings.n_features
        meta = metadata or ModelMetadata()
        meta = dataclasses.replace(meta, rows=len(y), positives=int(y.sum()), seed=seed)
        return cls(
            settings=settings,
            word_coef=coef[:n].astype(np.float32),
            char_coef=coef[n:].astype(np.float32),
            intercept=float(estimator.intercept_[0]),
            metadata=meta,
        )

    @property
    def version(self) -> str:
        """Identifies the weights in score records: creation date and a content digest."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.settings.to_json(), sort_keys=True).encode())
        digest.update(self.word_coef.tobytes())
        digest.update(self.char_coef.tobytes())
        digest.update(np.float64(self.intercept).tobytes())
        short = digest.hexdigest()[:12]
        return f"{self.metadata.created}.{short}" if self.metadata.created else short

    def with_metadata(self, metadata: ModelMetadata) -> HashedNgramModel:
        return dataclasses.replace(self, metadata=metadata)

    # -- inference -----------------------------------------------------------------

    def decision_function(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """The logit of P(offensive) for each text."""
        if not isinstance(texts, str) and len(texts) == 0:
            return np.zeros(0)  # sklearn's hasher raises on an empty batch
        words, chars = _features(texts, self.settings, self._vectorizers)
        z = words @ self.word_coef + chars @ self.char_coef
        return np.asarray(z, dtype=np.float64) + self.intercept

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """P(offensive) for each text, in [0, 1]; shape (len(texts),)."""
        return _sigmoid(self.decision_function(texts))

    # -- storage -------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write one compressed `.npz`: float32 weights, JSON settings and metadata."""
        header = {
            "format": FORMAT_VERSION,
            "kind": "hashed-ngram-logistic",
            "settings": self.settings.to_json(),
            "metadata": self.metadata.to_json(),
            "hashing": {"sklearn": _version("scikit-learn"), "probes": list(_PROBES)},
        }
        with Path(path).open("wb") as out:  # an open file: numpy adds no ".npz" suffix
            np.savez_compressed(
                out,
                header=np.array(json.dumps(header, ensure_ascii=False, sort_keys=True)),
                word_coef=self.word_coef,
                char_coef=self.char_coef,
                intercept=np.array([self.intercept], dtype=np.float64),
                probe_logits=self.decision_function(_PROBES),
            )

    @classmethod
    def load(cls, path: Path) -> HashedNgramModel:
        """Read a file written by `save`; checks the format and the hashing."""
        with np.load(Path(path), allow_pickle=False) as npz:
            try:
                header = json.loads(str(npz["header"][()]))
                arrays = {k: np.array(npz[k]) for k in
                          ("word_coef", "char_coef", "intercept", "probe_logits")}
            except KeyError as exc:
                raise ValueError(f"{path}: not a lite model file (missing {exc})") from exc
        if header.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{path}: model format {header.get('format')!r}, this code reads "
                f"{FORMAT_VERSION}"
            )
        model = cls(
            settings=LiteSettings.from_json(header["settings"]),
            word_coef=arrays["word_coef"],
            char_coef=arrays["char_coef"],
            intercept=float(arrays["intercept"][0]),
            metadata=ModelMetadata.from_json(header["metadata"]),
        )
        probes = tuple(header["hashing"]["probes"])
        saved = arrays["probe_logits"]
        if saved.shape != (len(probes),):
            raise ValueError(f"{path}: probe_logits: expected shape ({len(probes)},)")
        drift = np.abs(model.decision_function(probes) - saved)
        if float(drift.max(initial=0.0)) > _PROBE_TOLERANCE:
            raise ValueError(
                f"{path}: probe scores differ from those saved (scikit-learn "
                f"{header['hashing']['sklearn']} then, {_version('scikit-learn')} now): "
                "the hashing changed; retrain the model"
            )
        return model


def shipped_path(lang: str) -> Path:
    """The weights shipped in the package for `lang` (they may not exist)."""
    return SHIPPED_DIR / f"lite-{lang}.npz"


def load_shipped(lang: str) -> HashedNgramModel:
    return HashedNgramModel.load(shipped_path(lang))


# -- training with cross-validation ------------------------------------------------


def _as_labels(labels: Sequence[bool] | NDArray[np.bool_], n: int) -> NDArray[np.int64]:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"labels: expected shape ({n},), got {y.shape}")
    if y.dtype != np.bool_ and not np.isin(y, (0, 1)).all():
        raise ValueError("labels: expected booleans (True = offensive)")
    y = y.astype(np.int64)
    if y.min(initial=1) == y.max(initial=0):
        raise ValueError("labels: need both offensive and non-offensive examples")
    return y


def _fit_estimator(x: Any, y: NDArray[np.int64], seed: int, settings: LiteSettings) -> Any:
    from sklearn.linear_model import LogisticRegression

    # liblinear's dual solver: far more features than rows makes it ~15x faster than the
    # primal one for the same AUC. It visits rows in an order drawn from random_state,
    # so the seed pins the weights; it is single-threaded, hence reproducible.
    estimator = LogisticRegression(
        C=settings.c,
        class_weight="balanced",
        solver="liblinear",
        dual=True,
        max_iter=settings.max_iter,
        random_state=seed,
    )
    return estimator.fit(x, y)


class TrainingReport(TypedDict):
    """What `train_lite` measured: a JSON-ready dict, shipped beside the weights."""

    language: str
    training_file: str  # a file name, never a full path
    rows: int
    positives: int
    repaired_rows: int  # rows whose text held a tab (see `read_labelled_tsv`)
    seed: int
    folds: int
    fold_auc: list[float]
    cv_auc_mean: float
    cv_auc_std: float  # population std over the folds
    settings: dict[str, Any]
    positive_labels: list[str]
    texts_per_s: float  # predict_proba over all training texts, best of 3 passes
    throughput_batch: int
    train_seconds: float  # cross-validation and the final fit
    created: str
    model_version: str
    versions: dict[str, str]


def read_labelled_tsv(
    path: Path, *, text_column: str, label_column: str
) -> tuple[list[str], list[str], int]:
    """Texts, raw labels and the number of repaired rows of a tab-separated file.

    The file has no quoting, so a tab inside a text splits it into extra fields; such a
    row is repaired by joining the surplus fields back into the text column (the other
    columns keep their positions counted from either end).
    """
    texts: list[str] = []
    labels: list[str] = []
    repaired = 0
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file")
        for name in (text_column, label_column):
            if name not in header:
                raise ValueError(f"{path}: no column {name!r} (columns: {header})")
        ti, li = header.index(text_column), header.index(label_column)
        width = len(header)
        for line, row in enumerate(reader, start=2):
            extra = len(row) - width
            if extra < 0:
                raise ValueError(f"{path}:{line}: {len(row)} fields, expected {width}")
            if extra:
                repaired += 1
                text = "\t".join(row[ti : ti + 1 + extra])
                label = row[li] if li < ti else row[li + extra]
            else:
                text, label = row[ti], row[li]
            texts.append(text)
            labels.append(label)
    return texts, labels, repaired


def measure_throughput(
    model: HashedNgramModel, texts: Sequence[str], *, batch: int = 1000, rounds: int = 3
) -> float:
    """Texts per second of `predict_proba` in batches of `batch`: best of `rounds`."""
    if not texts:
        raise ValueError("measure_throughput: no texts")
    batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    model.predict_proba(batches[0])  # warm-up (first-call imports and allocations)
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for chunk in batches:
            model.predict_proba(chunk)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[bool] | NDArray[np.bool_],
    *,
    seed: int,
    folds: int = 5,
    settings: LiteSettings | None = None,
) -> tuple[float, ...]:
    """ROC-AUC of each fold of a stratified, seeded k-fold cross-validation."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    settings = settings or LiteSettings()
    y = _as_labels(labels, len(texts))
    # Hashing is stateless, so features are computed once for all folds.
    x = sparse.hstack(_features(texts, settings, _vectorizers(settings)), format="csr")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    aucs: list[float] = []
    for train, test in splitter.split(np.zeros(len(y)), y):
        estimator = _fit_estimator(x[train], y[train], seed, settings)
        aucs.append(float(roc_auc_score(y[test], estimator.decision_function(x[test]))))
    return tuple(aucs)


def train_lite(
    *,
    lang: str,
    data: Path,
    seed: int,
    folds: int = 5,
    text_column: str = "comment",
    label_column: str = "label",
    positive: Iterable[str] = OFFENDES_POSITIVE,
    settings: LiteSettings | None = None,
    created: dt.date | None = None,
    throughput_batch: int = 1000,
) -> tuple[HashedNgramModel, TrainingReport]:
    """Cross-validate, then fit on all rows of `data`; deterministic given `seed`.

    The defaults read OffendES (`comment`, `label`, positive = OFP or OFG). `created`
    defaults to today (UTC); only the report's timings vary between identical runs.
    """
    if not re.fullmatch(r"[a-z]{2}", lang):
        raise ValueError(f"lang: expected an ISO 639-1 code such as 'es', got {lang!r}")
    if folds < 2:
        raise ValueError(f"folds: expected >= 2, got {folds}")
    settings = settings or LiteSettings()
    positive_labels = tuple(sorted(set(positive)))
    texts, raw_labels, repaired = read_labelled_tsv(
        data, text_column=text_column, label_column=label_column
    )
    labels = np.array([label in positive_labels for label in raw_labels], dtype=np.bool_)

    start = time.perf_counter()
    fold_auc = cross_validate(texts, labels, seed=seed, folds=folds, settings=settings)
    mean, std = float(np.mean(fold_auc)), float(np.std(fold_auc))
    created_on = (created or dt.datetime.now(dt.UTC).date()).isoformat()
    meta = ModelMetadata(
        language=lang,
        training_file=Path(data).name,
        seed=seed,
        cv_folds=folds,
        cv_auc_mean=mean,
        cv_auc_std=std,
        created=created_on,
    )
    model = HashedNgramModel.fit(texts, labels, seed=seed, settings=settings, metadata=meta)
    train_seconds = time.perf_counter() - start

    report = TrainingReport(
        language=lang,
        training_file=Path(data).name,
        rows=len(texts),
        positives=int(labels.sum()),
        repaired_rows=repaired,
        seed=seed,
        folds=folds,
        fold_auc=list(fold_auc),
        cv_auc_mean=mean,
        cv_auc_std=std,
        settings=settings.to_json(),
        positive_labels=list(positive_labels),
        texts_per_s=measure_throughput(model, texts, batch=throughput_batch),
        throughput_batch=throughput_batch,
        train_seconds=train_seconds,
        created=created_on,
        model_version=model.version,
        versions={
            "python": ".".join(map(str, sys.version_info[:3])),
            "numpy": np.__version__,
            "scikit-learn": _version("scikit-learn"),
        },
    )
    return model, report


def save_trained(model: HashedNgramModel, report: TrainingReport, out: Path) -> Path:
    """Write the weights to `out` (a `.npz`) and the report beside them as `.json`.

    The JSON adds the file's size and SHA-256 to the report. Returns the JSON's path.
    """
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"{out}: expected a .npz file name")
    model.save(out)
    blob = out.read_bytes()
    document = {
        "model_file": out.name,
        "model_bytes": len(blob),
        "model_sha256": hashlib.sha256(blob).hexdigest(),
        **report,
    }
    json_path = out.with_suffix(".json")
    json_path.write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return json_path


def _version(distribution: str) -> str:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"
