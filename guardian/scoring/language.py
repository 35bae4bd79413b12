"""Language detection with py3langid (offline; the model ships inside the package).

`detect(text, candidates=..., hint=...)` returns the ISO 639 code and a normalised
probability. A `hint` from the source (BCP 47, e.g. "es-ES") is trusted as is: its primary
subtag wins with confidence 1.0. Otherwise @mentions, URLs, e-mail addresses and hashtags
are removed first; what is left with fewer than 3 letters is too short to tell (lang None).

The model is loaded once, on first use, under a lock. Restricting to `candidates` uses a
LanguageIdentifier of our own per set of languages (cached), never py3langid's module-level
identifier, whose `set_languages` would change the answer for every other caller.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]
from scipy import sparse

__all__ = ["MIN_LETTERS", "NEIGHBOURS", "Detected", "covered", "detect", "detect_in_town",
           "detect_in_town_many", "primary_subtag"]

MIN_LETTERS = 3
MAX_CHARACTERS = 120

_STRIP = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w@])@\w+"
    r"|(?<!\w)#\w+",
    re.IGNORECASE)
# What `_STRIP` needs to find anything (most texts have none of it: the search costs a
# tenth of the substitution).
_MAY_STRIP = re.compile(r"[@#]|https?://|www\.", re.IGNORECASE)
_TAG = re.compile(r"[A-Za-z]{2,3}")
# MIN_LETTERS letters anywhere (a search stops at the third; counting every character
# cost more than the detection of a short text).
_LETTERS = re.compile(rf"(?:[^\W\d_][\W\d_]*){{{MIN_LETTERS}}}")


def _enough_letters(text: str) -> bool:
    return _LETTERS.search(text) is not None
# Tags that say "no particular language": no use as a hint.
_NOT_A_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})


@dataclass(frozen=True, slots=True)
class Detected:
    lang: str | None      # ISO 639 code (py3langid's label), None when it cannot tell
    confidence: float     # probability in [0, 1]; 1.0 for a trusted hint, 0.0 for None


_lock = threading.Lock()
_base: Any = None


def _identifier() -> Any:
    """The identifier over every language, loaded once (double-checked under a lock)."""
    global _base
    identifier = _base
    if identifier is None:
        with _lock:
            if _base is None:
                _base = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier = _base
    return identifier


@functools.lru_cache(maxsize=32)
def _restricted(langs: tuple[str, ...]) -> Any:
    """An identifier of our own limited to `langs`, sharing the model's arrays."""
    base = _identifier()
    identifier = LanguageIdentifier(base.nb_ptc, base.nb_pc, base.nb_classes,
                                    base.tk_nextmove, base.tk_output, norm_probs=True,
                                    tk_row=base.tk_row)
    identifier.set_languages(langs)
    return identifier


def primary_subtag(tag: str | None) -> str | None:
    """"es-ES" -> "es", "EN_gb" -> "en"; None for what is not a language ("und", "", "1x")."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if not _TAG.fullmatch(primary) or primary in _NOT_A_LANGUAGE:
        return None
    return primary


def _known(candidates: Iterable[str]) -> tuple[str, ...]:
    return _known_tuple(tuple(candidates))


@functools.lru_cache(maxsize=64)
def _known_tuple(candidates: tuple[str, ...]) -> tuple[str, ...]:
    labels = set(_identifier().labels)
    return tuple(sorted({p for c in candidates
                         if (p := primary_subtag(c)) is not None and p in labels}))


def detect(text: str, *, candidates: Sequence[str] | None = None,
           hint: str | None = None) -> Detected:
    """The language of `text`: the hint's if given, else py3langid's among `candidates`.

    Candidates the model does not know are ignored; if none is left, lang is None.
    """
    hinted = primary_subtag(hint)
    if hinted is not None:
        return Detected(hinted, 1.0)
    cleaned = _STRIP.sub(" ", text)
    if not _enough_letters(cleaned):
        return Detected(None, 0.0)
    if candidates is None:
        identifier = _identifier()
    else:
        langs = _known(candidates)
        if not langs:
            return Detected(None, 0.0)
        identifier = _restricted(langs)
    lang, confidence = identifier.classify(cleaned)
    return Detected(str(lang), float(confidence))


# The languages a town hall in Spain receives besides its own: its co-official and
# neighbouring languages and those of its largest foreign communities. A long text is told
# among these and the town's languages, not among all 97 py3langid knows: the odd short
# Spanish comment is no longer taken for Occitan or Hausa, and one pass costs about half.
NEIGHBOURS = ("ca", "gl", "eu", "fr", "pt", "it", "de", "nl", "ro", "ar", "ru", "uk", "zh",
              "pl", "bg", "en", "es")


def detect_in_town(text: str, town: Sequence[str], *, wider: bool
                   ) -> tuple[Detected, Detected]:
    """(the language among the town's and its neighbours', the language among the town's
    only), from one pass over `text`; with `wider` false the first is the second."""
    return detect_in_town_many([text], town, wider=[wider])[0]


def detect_in_town_many(texts: Sequence[str], town: Sequence[str], *,
                        wider: Sequence[bool]) -> list[tuple[Detected, Detected]]:
    """`detect_in_town` of each text, for a batch at once (`_Batch`): the same answers
    as py3langid's `classify` and `_decide` (probabilities within 1e-5)."""
    # The first 120 characters tell Spanish from English as well as the whole text does
    # (99.3% of OffendES comments, 99.2% of Davidson tweets either way), and py3langid's
    # walk over the text is the costliest part of a detection (112 µs at 120, 163 at 300).
    none = (Detected(None, 0.0), Detected(None, 0.0))
    results: list[tuple[Detected, Detected]] = [none] * len(texts)
    town_langs = _known(town)
    if not town_langs:
        return results
    todo: list[int] = []
    cleaned: list[str] = []
    for index, text in enumerate(texts):
        kept = text[:MAX_CHARACTERS]
        if _MAY_STRIP.search(kept):
            kept = _STRIP.sub(" ", kept)
        if _enough_letters(kept):
            todo.append(index)
            cleaned.append(kept)
    if not todo:
        return results
    wide_langs = _known((*town_langs, *NEIGHBOURS))
    batch = _Batch(cleaned, wide_langs)
    in_town = [c in town_langs for c in batch.classes]
    wide_found = batch.probabilities(None)
    town_found = batch.probabilities(in_town)
    classes = batch.classes
    for row, index in enumerate(todo):
        if not wider[index]:
            best = int(town_found[row].argmax())
            found = Detected(classes[best], float(town_found[row, best]))
            results[index] = (found, found)
            continue
        probabilities = wide_found[row]
        best = int(probabilities.argmax())
        wide = Detected(classes[best], float(probabilities[best]))
        # Among the town's languages, from the same scores: the wide probabilities of the
        # town's languages, renormalised.
        town_p = [(float(p), c) for p, c, keep in zip(probabilities, classes, in_town,
                                                      strict=True) if keep]
        total = sum(p for p, _ in town_p)
        top, lang = max(town_p)
        results[index] = (wide, Detected(lang, top / total if total > 0 else 0.0))
    return results


@functools.lru_cache(maxsize=1)
def _automaton() -> tuple[NDArray[Any], NDArray[np.int64], NDArray[np.int64]]:
    """py3langid's byte automaton as arrays: next state (at row base + byte; a view of
    py3langid's own array, 40 MB), each state's row base, each state's feature (-1 for
    none)."""
    base = _identifier()
    nextmove = base.tk_nextmove
    return (np.frombuffer(nextmove, dtype=np.dtype(nextmove.typecode))
            if hasattr(nextmove, "typecode") else np.asarray(nextmove),
            np.asarray(base.tk_row, dtype=np.int64) << 8,
            np.asarray(base.tk_output, dtype=np.int64))


@functools.lru_cache(maxsize=8)
def _table(langs: tuple[str, ...]) -> tuple[tuple[str, ...], NDArray[Any],
                                               NDArray[np.float32]]:
    """The classes of `_restricted(langs)`, in its order, with its per-feature log
    probabilities (the identifier's own float16 array) and its priors."""
    identifier = _restricted(langs)
    return (tuple(str(c) for c in identifier.nb_classes), identifier.nb_ptc,
            np.asarray(identifier.nb_pc, dtype=np.float32))


class _Batch:
    """py3langid's naive Bayes scores of many texts at once.

    py3langid walks its byte automaton over one text in a Python loop (one iteration per
    byte) and scores each text apart. Here every text of the batch takes its next byte in
    the same NumPy step (the longest texts first, so that a step touches only the texts
    still being read), the features' counts come from one `np.unique`, and the scores
    from one sparse product. The walk and the counts are py3langid's exactly; its
    float32 sums are done in float64 (so a probability may differ in the sixth decimal).
    Aliased classes (py3langid folds "srl" into "sr") are folded the same way.
    """

    def __init__(self, texts: Sequence[str], langs: tuple[str, ...]) -> None:
        encoded = [_encode(t) for t in texts]
        nextmove, rowbase, output = _automaton()
        self.classes, table, priors = _table(langs)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")
        data = np.frombuffer(b"".join(encoded[i] for i in order), dtype=np.uint8)
        starts = np.zeros(len(encoded), dtype=np.int64)
        np.cumsum(lengths[order][:-1], out=starts[1:])
        features = np.full(len(data), -1, dtype=np.int64)
        state = np.zeros(len(encoded), dtype=np.int64)
        sorted_lengths = lengths[order]
        active = len(encoded)
        for step in range(int(sorted_lengths[0]) if len(encoded) else 0):
            while active and sorted_lengths[active - 1] <= step:
                active -= 1
            at = starts[:active] + step
            state = nextmove[rowbase[state[:active]] + data[at]]
            features[at] = output[state]
        rows = np.repeat(order, lengths[order])
        found = features >= 0
        keys, counts = np.unique(rows[found] * table.shape[0] + features[found],
                                 return_counts=True)
        text_of, feature = np.divmod(keys, table.shape[0])
        # py3langid: log1p of float32 counts, times the float16 table, plus the priors;
        # here summed in float64, over the rows of the features the batch has.
        present, column = np.unique(feature, return_inverse=True)
        values = np.log1p(counts.astype(np.float32)).astype(np.float64)
        matrix = sparse.csr_matrix((values, (text_of, column)),
                                   shape=(len(encoded), len(present)))
        weights = np.asarray(table[present], dtype=np.float64)
        self._scores: NDArray[np.float32] = (np.asarray(matrix @ weights)
                                             + priors).astype(np.float32)
        # A text with no feature scores 0 for every class (py3langid's `norm_probs`).
        self._scores[np.bincount(text_of, minlength=len(encoded)) == 0] = 0.0
        self._scale = (1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32)

    def probabilities(self, keep: Sequence[bool] | None) -> NDArray[np.float32]:
        """Each text's probability per class (of the kept classes only, when given:
        those of the others are 0), as py3langid's `_decide` with `norm_probs`."""
        scores = self._scores * self._scale[:, None]
        if keep is not None:
            scores[:, ~np.asarray(keep, dtype=bool)] = -np.inf
        found: NDArray[np.float32] = np.exp(
            scores - scores.max(axis=1, keepdims=True)).astype(np.float32)
        found /= found.sum(axis=1, keepdims=True)
        first: dict[str, int] = {}
        for column, name in enumerate(self.classes):
            if name in first:
                found[:, first[name]] += found[:, column]
                found[:, column] = 0.0
            else:
                first[name] = column
        return found


def _encode(text: str) -> bytes:
    """py3langid's view of a text: lower case if all upper case, NFC, UTF-8."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


def covered(lang: str | None, languages: frozenset[str]) -> bool:
    """Does a scorer covering `languages` (ISO 639-1) cover `lang` (code or BCP 47 tag)?

    An unknown language (None) counts as covered: nothing says the scorer is wrong for it,
    and short texts, which have no language, would otherwise all be flagged.
    """
    if lang is None:
        return True
    primary = primary_subtag(lang)
    return primary is not None and primary in {primary_subtag(x) for x in languages}
