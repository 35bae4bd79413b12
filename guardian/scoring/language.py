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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

__all__ = ["MIN_LETTERS", "NEIGHBOURS", "Detected", "covered", "detect", "detect_in_town",
           "primary_subtag"]

MIN_LETTERS = 3
MAX_CHARACTERS = 120

_STRIP = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w@])@\w+"
    r"|(?<!\w)#\w+",
    re.IGNORECASE)
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
    # The first 120 characters tell Spanish from English as well as the whole text does
    # (99.3% of OffendES comments, 99.2% of Davidson tweets either way), and py3langid's
    # walk over the text is the costliest part of a detection (112 µs at 120, 163 at 300).
    cleaned = _STRIP.sub(" ", text[:MAX_CHARACTERS])
    town_langs = _known(town)
    if not _enough_letters(cleaned) or not town_langs:
        return Detected(None, 0.0), Detected(None, 0.0)
    if not wider:
        lang, confidence = _restricted(town_langs).classify(cleaned)
        found = Detected(str(lang), float(confidence))
        return found, found
    identifier = _restricted(_known((*town_langs, *NEIGHBOURS)))
    probabilities = identifier._decide(cleaned)  # py3langid: one score per language
    classes = identifier.nb_classes
    best = int(probabilities.argmax())
    wide = Detected(str(classes[best]), float(probabilities[best]))
    in_town = [(float(p), str(c)) for p, c in zip(probabilities, classes, strict=True)
               if c in town_langs]
    total = sum(p for p, _ in in_town)
    top, lang = max(in_town)
    return wide, Detected(lang, top / total if total > 0 else 0.0)


def covered(lang: str | None, languages: frozenset[str]) -> bool:
    """Does a scorer covering `languages` (ISO 639-1) cover `lang` (code or BCP 47 tag)?

    An unknown language (None) counts as covered: nothing says the scorer is wrong for it,
    and short texts, which have no language, would otherwise all be flagged.
    """
    if lang is None:
        return True
    primary = primary_subtag(lang)
    return primary is not None and primary in {primary_subtag(x) for x in languages}
