"""Seeded obfuscation of text, the way abusers dodge filters: `guardian eval --obfuscate`.

`obfuscate(text, seed=..., rate=..., transforms=...)` picks about `rate` of the words of 4
letters or more (not glued to digits or symbols; words inside links, e-mail addresses and
@mentions are left alone) and applies to each one of `transforms` (default: all of
`TRANSFORMS`), each the inverse of a step of `guardian.scoring.normalise`:

- "leet": letters to leet characters (i->1 or !, o->0, e->3, a->4 or @, s->5 or $, t->7,
  l->|): at least one run between two letters, runs of at most 3, only digits, $ and | at
  the ends of the word, no "@" where it would read as an e-mail address ("p@yaso.com");
- "separators": the letters joined by one of . - _ * · ". " " . " or a space (a space only
  when the word's letters are all of one case); not next to a separator character, not
  when the nearest thing on either side (across spaces and separators) is a lone letter
  ("y", "a", "B."), and not right after another word spelled out with separators;
- "stretch": one letter that is not next to the same letter, repeated 3-6 times (5-7 for
  the Roman-numeral letters i v x l c d m, so the result is never a Roman numeral); not in
  a word that is itself a Roman numeral ("mcmx");
- "zero_width": 1-3 invisible characters between letters;
- "confusable": some letters to Cyrillic/Greek look-alikes, at least one Latin letter kept;
- "styled": ASCII letters to fullwidth, mathematical bold or italic, or circled letters.

Every transform is invertible under those conditions, which are exactly what `normalise`
needs: for a word of ASCII letters, `normalise(obfuscate(w, seed=s)).text ==
normalise(w).text`, for every transform alone and for any mix; it holds in running text of
such words too (tests check both with hypothesis). A transform whose conditions a word does
not meet is not applied to it; another one, in a seeded order, is.
Pure and deterministic: one `random.Random(seed)` per call.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from guardian.scoring.normalise import CONFUSABLES, LEET, PROTECTED, ROMAN_NUMERAL, SEPARATORS

__all__ = ["TRANSFORMS", "obfuscate"]

TRANSFORMS: tuple[str, ...] = (
    "leet", "separators", "stretch", "zero_width", "confusable", "styled")

# A word: letters only, not glued to digits, underscores or leet symbols.
_WORD = re.compile(r"(?<![\w@$!|])[^\W\d_]{4,}(?![\w@$!|])")
_UNIT_CHARS = frozenset("013457@$!|")
_GLUE = re.compile(r"[\w@$!|]")
_EMAIL_TAIL = re.compile(r"[\w-]*\.[\w-]")

_LEET_BY_LETTER: dict[str, list[str]] = {}
for _sym, _letter in LEET.items():
    _LEET_BY_LETTER.setdefault(_letter, []).append(_sym)
_LEET_AT_END = frozenset("013457$|")  # what normalise converts at the ends of a word

_CONFUSABLE_BY_LETTER: dict[str, list[str]] = {}
for _look, _latin in CONFUSABLES.items():
    _CONFUSABLE_BY_LETTER.setdefault(_latin, []).append(_look)

_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
_SEPARATORS = (".", "-", "_", "*", "·", ". ", " . ")
_ROMAN_LETTERS = frozenset("ivxlcdm")
_PUNCTUATION_SEPARATORS = SEPARATORS.replace(" ", "")


def _style(upper: int, lower: int) -> dict[str, str]:
    """ASCII letter -> styled letter, keeping only those NFKC maps back (italic h is a hole)."""
    table: dict[str, str] = {}
    for i in range(26):
        for base, letter in ((upper, chr(65 + i)), (lower, chr(97 + i))):
            styled = chr(base + i)
            if unicodedata.normalize("NFKC", styled) == letter:
                table[letter] = styled
    return table


_STYLES: tuple[dict[str, str], ...] = (
    _style(0xFF21, 0xFF41),    # fullwidth
    _style(0x1D400, 0x1D41A),  # mathematical bold
    _style(0x1D434, 0x1D44E),  # mathematical italic
    _style(0x24B6, 0x24D0),    # circled
)


@dataclass(frozen=True)
class _Word:
    text: str     # the whole text, for the context of the word
    start: int
    end: int
    # Only spaces and separators since the last word spelled out with separators: its
    # letters could run on into this word's if this one were spelled out too.
    after_separated: bool = False

    @property
    def word(self) -> str:
        return self.text[self.start:self.end]


def _leet(w: _Word, rng: random.Random) -> str | None:
    word = w.word
    n = len(word)
    options = [k for k, ch in enumerate(word) if ch.lower() in _LEET_BY_LETTER]
    if not any(0 < k < n - 1 for k in options):
        return None
    chosen: set[int] = set()
    for _ in range(8):
        chosen = {k for k in options if rng.random() < 0.5}
        runs = _runs(sorted(chosen))
        if (runs and all(b - a <= 3 for a, b in runs)
                and any(a > 0 and b < n for a, b in runs)):
            break
    else:
        chosen = {rng.choice([k for k in options if 0 < k < n - 1])}
    # "@" followed by ".com" would read as an e-mail address, which normalise leaves alone.
    no_at = _EMAIL_TAIL.match(w.text, w.end) is not None
    out = list(word)
    for a, b in _runs(sorted(chosen)):
        at_end = a == 0 or b == n
        for k in range(a, b):
            subs = [s for s in _LEET_BY_LETTER[word[k].lower()]
                    if (not at_end or s in _LEET_AT_END) and not (no_at and s == "@")]
            out[k] = rng.choice(subs)
    return "".join(out)


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Consecutive indices as half-open runs: [1, 2, 5] -> [(1, 3), (5, 6)]."""
    runs: list[tuple[int, int]] = []
    for k in indices:
        if runs and runs[-1][1] == k:
            runs[-1] = (runs[-1][0], k + 1)
        else:
            runs.append((k, k + 1))
    return runs


def _lone_unit_beside(w: _Word) -> bool:
    """Is the nearest thing on either side, across spaces and separators, a lone letter or
    leet character ("y", "a", "B.")? Spelled out, the word could run on into it."""
    text = w.text
    p = w.start - 1
    while p >= 0 and _is_gap(text[p]):
        p -= 1
    if p >= 0 and _is_unit(text[p]) and (p == 0 or not _GLUE.match(text[p - 1])):
        return True
    q = w.end
    while q < len(text) and _is_gap(text[q]):
        q += 1
    return (q < len(text) and _is_unit(text[q])
            and (q == len(text) - 1 or not _GLUE.match(text[q + 1])))


def _is_gap(ch: str) -> bool:
    return ch.isspace() or ch in SEPARATORS


def _is_unit(ch: str) -> bool:
    return ch.isalpha() or ch in _UNIT_CHARS


def _separators(w: _Word, rng: random.Random) -> str | None:
    text = w.text
    before = text[w.start - 1] if w.start else " "
    after = text[w.end] if w.end < len(text) else " "
    # A separator character next to the word could extend the run; a lone letter could too.
    if (before in _PUNCTUATION_SEPARATORS or after in _PUNCTUATION_SEPARATORS or w.after_separated
            or _lone_unit_beside(w)):
        return None
    word = w.word
    seps = list(_SEPARATORS)
    if word.islower() or word.isupper():
        seps.append(" ")
    return rng.choice(seps).join(word)


def _stretch(w: _Word, rng: random.Random) -> str | None:
    word = w.word
    folded = word.casefold()
    if len(folded) != len(word):
        return None
    if ROMAN_NUMERAL.fullmatch(folded):  # normalise keeps runs inside Roman numerals
        return None
    n = len(word)
    single = [k for k in range(n)
              if (k == 0 or folded[k - 1] != folded[k])
              and (k == n - 1 or folded[k + 1] != folded[k])]
    if not single:
        return None
    k = rng.choice(single)
    times = rng.randint(5, 7) if folded[k] in _ROMAN_LETTERS else rng.randint(3, 6)
    return word[:k] + word[k] * times + word[k + 1:]


def _zero_width(w: _Word, rng: random.Random) -> str | None:
    word = w.word
    gaps = [k for k in range(1, len(word)) if not unicodedata.combining(word[k])]
    chosen = set(rng.sample(gaps, min(len(gaps), rng.randint(1, 3))))
    return "".join((rng.choice(_INVISIBLE) if k in chosen else "") + ch
                   for k, ch in enumerate(word))


def _confusable(w: _Word, rng: random.Random) -> str | None:
    word = w.word
    options = [k for k, ch in enumerate(word) if ch in _CONFUSABLE_BY_LETTER]
    if not options:
        return None
    chosen = [k for k in options if rng.random() < 0.5] or [rng.choice(options)]
    if len(chosen) == len(word):  # keep a Latin letter: the word must mix scripts
        chosen.remove(rng.choice(chosen))
    out = list(word)
    for k in chosen:
        out[k] = rng.choice(_CONFUSABLE_BY_LETTER[word[k]])
    return "".join(out)


def _styled(w: _Word, rng: random.Random) -> str | None:
    word = w.word
    style = rng.choice(_STYLES)
    if not any(ch in style for ch in word):
        return None
    return "".join(style.get(ch, ch) for ch in word)


_APPLY: dict[str, Callable[[_Word, random.Random], str | None]] = {
    "leet": _leet,
    "separators": _separators,
    "stretch": _stretch,
    "zero_width": _zero_width,
    "confusable": _confusable,
    "styled": _styled,
}


def obfuscate(text: str, *, seed: int, rate: float = 0.5,
              transforms: Sequence[str] = TRANSFORMS) -> str:
    """Obfuscate about `rate` of the words of `text`, deterministically for `seed`."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, not {rate}")
    unknown = set(transforms) - set(_APPLY)
    if unknown or not transforms:
        raise ValueError(f"unknown or no transforms: {sorted(unknown)}; "
                         f"choose from {', '.join(TRANSFORMS)}")
    rng = random.Random(seed)  # noqa: S311 - a reproducible test transform, not security
    protected = [m.span() for m in PROTECTED.finditer(text)]
    parts: list[str] = []
    pos = 0
    separated_end = -1  # end of the last word spelled out with separators
    for m in _WORD.finditer(text):
        start, end = m.span()
        if any(start < e and s < end for s, e in protected) or rng.random() >= rate:
            continue
        after = separated_end >= 0 and all(_is_gap(ch) for ch in text[separated_end:start])
        word = _Word(text, start, end, after)
        order = list(transforms)
        rng.shuffle(order)
        for name in order:
            out = _APPLY[name](word, rng)
            if out is not None:
                parts += [text[pos:start], out]
                pos = end
                separated_end = end if name == "separators" else -1
                break
    parts.append(text[pos:])
    return "".join(parts)
