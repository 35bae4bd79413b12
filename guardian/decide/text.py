"""Text helpers for routing: folding (case and accents), mentions, hashtags, fingerprints.

Routing rules are matched on folded text so HR need not list every spelling: "Farola",
"farola" and "FAROLA" are one word, as are "caído" and "caido". `ñ` stays `ñ` (a different
letter in Spanish, not an accented `n`).
"""

from __future__ import annotations

import hashlib
import re

_PLAIN = {"a": "áàâäãå", "e": "éèêë", "i": "íìîï", "o": "óòôöõ", "u": "úùûü", "c": "ç",
          "y": "ýÿ"}
# Upper-case accented letters too: patterns are folded by this table alone (casefolding a
# regex would turn `\W` into `\w`), then compiled to ignore case.
_ACCENTS = str.maketrans({accented: plain for plain, letters in _PLAIN.items()
                          for accented in letters + letters.upper()})
_MENTION = re.compile(r"(?<![\w@])@([\w][\w.]*(?:@[\w-]+(?:\.[\w-]+)+)?)")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_SPACES = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+")


def fold(text: str) -> str:
    """Lower case (casefold) without accents."""
    return text.casefold().translate(_ACCENTS)


def handle_key(handle: str) -> str:
    """A handle as compared: folded, without the leading `@`."""
    return handle.strip().casefold().lstrip("@").rstrip(".")


def mentions_in(text: str) -> list[str]:
    """`@handles` written in the text, in order (some feeds do not list them separately)."""
    return [m.rstrip(".") for m in _MENTION.findall(text)]


def hashtags_in(text: str) -> set[str]:
    """Hashtags in the text, folded, without `#`."""
    return {fold(tag) for tag in _HASHTAG.findall(text)}


def fingerprint(text: str, folded: str | None = None) -> str:
    """What makes two texts "the same" for duplicate detection: folded, links and mentions
    removed, spaces collapsed; 16 hex digits of SHA-256. The lead stores it with each
    decision so later messages can be compared with it. (`folded`: `fold(text)`, when
    the caller has it already.)"""
    core = fold(text) if folded is None else folded
    if "http" in core:
        core = _URL.sub("", core)
    if "@" in core:
        core = _MENTION.sub("", core)
    core = " ".join(core.split())
    return hashlib.sha256(core.encode("utf-8")).hexdigest()[:16]


def normal_spaces(text: str) -> str:
    return _SPACES.sub(" ", text.strip())


def keyword_regex(words: list[str]) -> re.Pattern[str] | None:
    """One regex for a list of keywords, on folded text, whole words only; spaces inside
    a keyword match any run of spaces. Longest first, so "sin luz" wins over "luz"."""
    folded = sorted({_SPACES.sub(" ", fold(w).strip()) for w in words if w.strip()},
                    key=lambda w: (-len(w), w))
    if not folded:
        return None
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in folded)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """An HR pattern for folded text: its literal accents are folded too, so `caído` in a
    pattern still matches."""
    return re.compile(pattern.translate(_ACCENTS), flags=re.IGNORECASE)
