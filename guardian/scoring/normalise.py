"""Normalisation of text for scoring: undo common obfuscation, keep a map to the original.

`normalise(text, lang=...)` returns the text that scorers, lexicons and rules see, and for
every one of its characters the span of the original text it came from, so a span found in
the normalised text can be masked in the original (which is what is always displayed).
Pure: no I/O, no clock.

The steps, in order (each step's rule is the one documented; tests cover each):

1. Invisible characters are removed: zero-width (U+200B..U+200F, U+2060..U+2064, U+FEFF),
   soft hyphen, bidi controls (U+202A..U+202E, U+2066..U+2069, U+061C), variation selectors,
   tag characters, blank fillers, and every other control character except \\n and \\t.
2. Unicode NFKC, per base character and its combining marks (fullwidth letters, ligatures,
   mathematical letters, circled letters...). Insult emoji (`EMOJI`) become words here.
3. Confusable Cyrillic/Greek letters (`CONFUSABLES`) become Latin, for a word that mixes
   them with Latin letters, or that is made only of confusables in a text whose other
   letters are mostly Latin (more Latin than Cyrillic and Greek). Genuine Russian or Greek
   text (mostly non-Latin letters; words with letters outside the table) is left alone.
4. Separated letters are joined: a run of single letters (or leet characters) separated by
   the same 1-3 separator characters (space . - _ * · • / + ~) becomes one word. The run needs
   at least 3 letters with a punctuation separator, at least 4 with spaces only, and then all
   its letters of one case ("i d i o t" joins, "A y B o C" stays). At least half of the units
   must be letters ("1.2.3" stays). Before casefold: it needs the case, and "ß" folds to two.
   Known cost: a lone letter just before a spelled-out word joins it ("y i d i o t a").
5. Casefold (then NFKC again, as in Unicode's NFKC_Casefold).
6. Leetspeak (`LEET`) inside words: a run of at most 3 leet characters between two letters is
   replaced; then, in the same word, the runs of at most 3 digits, $ and | before its first
   and after its last letter too, so "1d10t" -> "idiot", "t0nt0!" -> "tonto!". A word with
   no such interior run is left alone ("covid19", "10am", "3er", "mp3", and so "1diot"), and
   so is any word with 4 or more digits in a row (ID numbers, codes). "1" is read as "i".
7. Stretched letters: a letter repeated 3 or more times collapses to one ("idiooooota" ->
   "idiota"); doubles are kept ("llamar", "carro", "coordinar", "cooperate"). Known cost:
   "carrrro" becomes "caro". A word that is a valid Roman numeral ("Felipe III") is kept.

URLs, e-mail addresses and @mentions are left as they are by steps 4, 6 and 7.
Numbers, times, phone numbers have no letters and so are only casefolded.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "CONFUSABLES",
    "EMOJI",
    "LEET",
    "PROTECTED",
    "ROMAN_NUMERAL",
    "SEPARATORS",
    "Normalised",
    "normalise",
]

# --- tables -------------------------------------------------------------------------------

# Characters that render as nothing (or steer rendering) and are used to split words.
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x0008), (0x000B, 0x001F), (0x007F, 0x009F),  # control characters but \t \n
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # arabic letter mark (bidi)
    (0x115F, 0x1160), (0x3164, 0x3164), (0xFFA0, 0xFFA0),  # hangul fillers (blank)
    (0x180E, 0x180E),  # mongolian vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x2069),  # bidi isolates
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xE0000, 0xE007F),  # tag characters (invisible "ASCII smuggling")
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_INVISIBLE: frozenset[str] = frozenset(
    chr(cp) for lo, hi in _INVISIBLE_RANGES for cp in range(lo, hi + 1))
_INVISIBLE_CLASS = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _INVISIBLE_RANGES)

# Emoji commonly used as insults -> (Spanish, English) words the lexicons know or should.
# Kept small and mild: 💩 becomes "basura"/"garbage", not the obscene word.
EMOJI: dict[str, tuple[str, str]] = {
    "\U0001F437": ("cerdo", "pig"),        # pig face
    "\U0001F416": ("cerdo", "pig"),        # pig
    "\U0001F43D": ("cerdo", "pig"),        # pig nose
    "\U0001F921": ("payaso", "clown"),     # clown face
    "\U0001F400": ("rata", "rat"),         # rat
    "\U0001F4A9": ("basura", "garbage"),   # pile of poo
    "\U0001F40D": ("serpiente", "snake"),  # snake
    "\U0001FACF": ("burro", "donkey"),     # donkey
    "\U0001F404": ("vaca", "cow"),         # cow
    "\U0001F42E": ("vaca", "cow"),         # cow face
    "\U0001F595": ("peineta", "middle finger"),  # middle finger
}
_EMOJI_LANGS = ("es", "en")
# Skin tones and presentation selectors that may follow an emoji: part of its span.
_EMOJI_TAILS: frozenset[str] = frozenset(
    [chr(cp) for cp in range(0x1F3FB, 0x1F400)] + ["\uFE0E", "\uFE0F"])


def _emoji_table(lang: str | None) -> dict[str, str]:
    if lang in _EMOJI_LANGS:
        i = _EMOJI_LANGS.index(lang)
        return {e: words[i] for e, words in EMOJI.items()}
    # Unknown language: every language's word, so any lexicon can match.
    return {e: " ".join(words) for e, words in EMOJI.items()}


_EMOJI_WORDS: dict[str | None, dict[str, str]] = {
    lang: _emoji_table(lang) for lang in (*_EMOJI_LANGS, None)}

# Cyrillic and Greek letters that look like Latin ones (case kept: mapped before casefold).
# Only NFKC-stable characters (step 2 runs first). Deliberately compact. Written as escapes
# because on screen they cannot be told from the Latin letters they imitate.
_LOOKALIKES: tuple[tuple[str, str], ...] = (
    # Cyrillic lowercase (ve, U+0432, looks like a small capital B)
    ("\u0430\u0432\u0435\u043a\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501"
     "\u04bb\u04cf\u051b\u051d\u04af", "abekopcyxijsdhlqwy"),
    # Cyrillic uppercase
    ("\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0423\u0405"
     "\u0406\u0408\u051a\u051c\u04ae\u04c0", "ABEKMHOPCTXYSIJQWYI"),
    # Greek lowercase
    ("\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u03f3", "aeikvoptuxj"),
    # Greek uppercase
    ("\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5"
     "\u03a7\u037f", "ABEZHIKMNOPTYXJ"),
)
CONFUSABLES: dict[str, str] = {
    look: latin for looks, latins in _LOOKALIKES for look, latin in zip(looks, latins, strict=True)}

LEET: dict[str, str] = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
    "@": "a", "$": "s", "!": "i", "|": "l",
}
# At the ends of a word only these count ("idiota!" keeps its "!", "@" starts mentions).
_LEET_EDGE = frozenset("013457$|")
SEPARATORS = " .-_*·•/+~"
ROMAN_NUMERAL = re.compile(r"m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})")

# --- patterns -----------------------------------------------------------------------------

_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEEDS_CHAR_STEP = re.compile(f"[{_INVISIBLE_CLASS}{''.join(EMOJI)}]")
# Non-ASCII characters and ASCII controls: the only places step 1-2 may change anything.
_CHAR_CANDIDATE = re.compile(r"[^\x09\x0a\x20-\x7e]")
_CONFUSABLE = re.compile(f"[{''.join(CONFUSABLES)}]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_CYRILLIC_GREEK = re.compile(r"(?=[^\W\d_])[\u0370-\u03ff\u0400-\u052f\u1f00-\u1fff]")
_LETTERS = re.compile(r"[^\W\d_]+")

_UNIT = r"(?:[^\W\d_]|[013457@$!|])"
_SEP_RUN = re.compile(
    rf"(?<![\w@$!|]){_UNIT}(?P<sep>[{re.escape(SEPARATORS)}]{{1,3}})"
    rf"(?:{_UNIT}(?P=sep))+{_UNIT}(?![\w@$!|])")
_LEET_INTERIOR = re.compile(r"(?<=[^\W\d_])[013457@$!|]{1,3}(?=[^\W\d_])")
_LEET_TOKEN = re.compile(r"(?:[^\W_]|[@$!|])+")
_LONG_DIGITS = re.compile(r"\d{4}")
_STRETCH = re.compile(r"([^\W\d_])\1{2,}")

# Left exactly as written by steps 4, 6 and 7: links, e-mail addresses and @mentions.
PROTECTED = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w@$!|])@\w+",  # after a leet symbol "@" is a letter ("ts!@r"), not a mention
    re.IGNORECASE)


# --- result -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Normalised:
    """The normalised `text` and, per character of it, its span in `original`.

    `_starts[i]:_ends[i]` is the span of `original` that `text[i]` came from; both are None
    when the map is the identity (only one-to-one changes such as casefold happened).
    """

    original: str
    text: str
    _starts: tuple[int, ...] | None = field(default=None, repr=False)
    _ends: tuple[int, ...] | None = field(default=None, repr=False)

    def char_span(self, i: int) -> tuple[int, int]:
        """The span of the original text that normalised character `i` came from."""
        if not 0 <= i < len(self.text):
            raise IndexError(i)
        if self._starts is None or self._ends is None:
            return i, i + 1
        return self._starts[i], self._ends[i]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that covers normalised `text[start:end]`.

        Removed characters inside the span are covered too ("i\\u200bdiot" -> the whole);
        an empty span maps to the position where `text[start]` came from (or the end).
        """
        n = len(self.text)
        if not 0 <= start <= end <= n:
            raise ValueError(f"span {start}:{end} is outside 0:{n}")
        if self._starts is None or self._ends is None:
            return start, end
        if start == end:
            at = (self._starts[start] if start < n
                  else self._ends[-1] if n else 0)
            return at, at
        return self._starts[start], self._ends[end - 1]


# --- machinery ----------------------------------------------------------------------------

_Edit = tuple[int, int, str]  # replace s[a:b] with the string (a == b is never produced)


def _apply(s: str, starts: Sequence[int], ends: Sequence[int], edits: list[_Edit]
           ) -> tuple[str, Sequence[int], Sequence[int]]:
    """Apply sorted, non-overlapping edits to `s` and carry the offset map along."""
    if not edits:
        return s, starts, ends
    if all(len(rep) == b - a for a, b, rep in edits):
        # One to one (leet, confusables): the map stays as it is, only the text changes.
        chars = list(s)
        for a, b, rep in edits:
            chars[a:b] = rep
        return "".join(chars), starts, ends
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for a, b, rep in edits:
        parts.append(s[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        if rep:
            parts.append(rep)
            if len(rep) == b - a:  # one to one: each character keeps its own span
                new_starts.extend(starts[a:b])
                new_ends.extend(ends[a:b])
            else:  # expansion or contraction: every new character covers the whole
                new_starts.extend([starts[a]] * len(rep))
                new_ends.extend([ends[b - 1]] * len(rep))
        pos = b
    parts.append(s[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    return "".join(parts), new_starts, new_ends


@functools.lru_cache(maxsize=4096)
def _nfkc(cluster: str) -> str:
    return unicodedata.normalize("NFKC", cluster)


@functools.lru_cache(maxsize=4096)
def _fold(cluster: str) -> str:
    return unicodedata.normalize("NFKC", cluster.casefold())


def _overlaps(a: int, b: int, spans: list[tuple[int, int]]) -> bool:
    return any(a < e and s < b for s, e in spans)


def _protected(s: str) -> list[tuple[int, int]]:
    return [m.span() for m in PROTECTED.finditer(s)]


# --- steps --------------------------------------------------------------------------------

def _char_edits(text: str, emoji: dict[str, str]) -> list[_Edit]:
    """Steps 1-2: drop invisible characters, NFKC each cluster, emoji to words."""
    edits: list[_Edit] = []
    n = len(text)
    pos = 0         # everything before pos is handled
    trail_at = -1   # index where the last emoji's trailing space already separates
    for m in _CHAR_CANDIDATE.finditer(text):
        i = m.start()
        if i < pos:
            continue
        c = text[i]
        if c in _INVISIBLE:
            edits.append((i, i + 1, ""))
            pos = i + 1
            continue
        word = emoji.get(c)
        if word is not None:
            j = i + 1
            while j < n and text[j] in _EMOJI_TAILS:
                j += 1
            k = j
            while k < n and text[k] in _INVISIBLE:
                k += 1
            p = i - 1
            while p >= 0 and text[p] in _INVISIBLE:
                p -= 1
            # Pad with spaces so the word stands alone ("tonto🐷" -> "tonto cerdo").
            lead = " " if p >= 0 and not text[p].isspace() and trail_at != i else ""
            trail = " " if k < n and not text[k].isspace() else ""
            edits.append((i, j, lead + word + trail))
            trail_at = k if trail else -1
            pos = j
            continue
        start = i
        # A combining mark after an ASCII base that was not visited: start at the base.
        if unicodedata.combining(c) and i - 1 >= pos and i > 0:
            start = i - 1
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[start:j]
        norm = _nfkc(cluster)
        if norm != cluster:
            edits.append((start, j, norm))
        pos = j
    return edits


def _confusable_edits(s: str) -> list[_Edit]:
    """Step 3 (see the module docstring for when a word is mapped)."""
    if _CONFUSABLE.search(s) is None:
        return []
    latin = len(_LATIN.findall(s))
    other = len(_CYRILLIC_GREEK.findall(s))
    edits: list[_Edit] = []
    for m in _LETTERS.finditer(s):
        word = m.group()
        if _CONFUSABLE.search(word) is None:
            continue
        # An all-confusable word counts when the rest of the text is mostly Latin.
        if _LATIN.search(word) is not None or (
                latin > other - len(word) and all(ch in CONFUSABLES for ch in word)):
            base = m.start()
            edits.extend((base + k, base + k + 1, CONFUSABLES[ch])
                         for k, ch in enumerate(word) if ch in CONFUSABLES)
    return edits


def _casefold(s: str, starts: Sequence[int], ends: Sequence[int]
              ) -> tuple[str, Sequence[int], Sequence[int]]:
    """Step 5."""
    if s.isascii():
        return s.lower(), starts, ends
    folded = s.casefold()
    # Casefold never yields an empty string for a character: same length means 1:1.
    if len(folded) == len(s) and unicodedata.is_normalized("NFKC", folded):
        return folded, starts, ends
    edits: list[_Edit] = []
    n = len(s)
    i = 0
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(s[j]):
            j += 1
        cluster = s[i:j]
        norm = _fold(cluster)
        if norm != cluster:
            edits.append((i, j, norm))
        i = j
    return _apply(s, starts, ends, edits)


def _separator_edits(s: str) -> list[_Edit]:
    """Step 4."""
    runs = list(_SEP_RUN.finditer(s))
    if not runs:
        return []
    protected = _protected(s)
    edits: list[_Edit] = []
    for m in runs:
        a, b = m.span()
        if _overlaps(a, b, protected):
            continue
        width = len(m.group("sep")) + 1
        positions = range(a, b, width)
        units = [s[p] for p in positions]
        if 2 * sum(u.isalpha() for u in units) < len(units):
            continue
        if m.group("sep").isspace():
            if len(units) < 4:
                continue
            # Mixed case ("A y B o C") reads as words and initials, not a spelled word.
            if any(u.isupper() for u in units) and any(u.islower() for u in units):
                continue
        edits.extend((p + 1, p + width, "") for p in positions[:-1])
    return edits


def _leet_edits(s: str) -> list[_Edit]:
    """Step 6."""
    if _LEET_INTERIOR.search(s) is None:
        return []
    protected = _protected(s)
    edits: list[_Edit] = []
    for m in _LEET_TOKEN.finditer(s):
        word = m.group()
        interior = list(_LEET_INTERIOR.finditer(word))
        if not interior or _LONG_DIGITS.search(word) or _overlaps(*m.span(), protected):
            continue
        changed: list[int] = [k for run in interior for k in range(*run.span())]
        letters = [k for k, ch in enumerate(word) if ch.isalpha()]
        # The end runs: digits, $ and | next to the first and last letters ("t0nt0!").
        first, last = letters[0], letters[-1]
        head = first
        while head > 0 and word[head - 1] in _LEET_EDGE:
            head -= 1
        tail = last + 1
        while tail < len(word) and word[tail] in _LEET_EDGE:
            tail += 1
        if first - head <= 3:
            changed.extend(range(head, first))
        if tail - last - 1 <= 3:
            changed.extend(range(last + 1, tail))
        base = m.start()
        edits.extend((base + k, base + k + 1, LEET[word[k]]) for k in sorted(changed))
    return edits


def _stretch_edits(s: str) -> list[_Edit]:
    """Step 7."""
    runs = list(_STRETCH.finditer(s))
    if not runs:
        return []
    protected = _protected(s)
    edits: list[_Edit] = []
    for m in runs:
        a, b = m.span()
        if _overlaps(a, b, protected):
            continue
        start, end = a, b
        while start > 0 and s[start - 1].isalpha():
            start -= 1
        while end < len(s) and s[end].isalpha():
            end += 1
        if ROMAN_NUMERAL.fullmatch(s, start, end):
            continue
        edits.append((a, b, m.group(1)))
    return edits


# --- entry point --------------------------------------------------------------------------

def normalise(text: str, lang: str | None = None) -> Normalised:
    """Normalise `text` for scoring; `lang` (ISO 639-1 or BCP 47) picks the emoji words.

    With `lang` None or a language without emoji words, an insult emoji becomes the words
    of every language in the table ("🐷" -> "cerdo pig"), so any lexicon can match it.
    """
    primary = lang.replace("_", "-").split("-", 1)[0].lower() if lang else None
    emoji = _EMOJI_WORDS.get(primary, _EMOJI_WORDS[None])
    n = len(text)
    s = text
    starts: Sequence[int] = range(n)
    ends: Sequence[int] = range(1, n + 1)

    if s.isascii():
        if _ASCII_CONTROL.search(s) is not None:
            s, starts, ends = _apply(s, starts, ends, _char_edits(s, emoji))
    elif _NEEDS_CHAR_STEP.search(s) is not None or not unicodedata.is_normalized("NFKC", s):
        s, starts, ends = _apply(s, starts, ends, _char_edits(s, emoji))
    if not s.isascii():
        s, starts, ends = _apply(s, starts, ends, _confusable_edits(s))
    s, starts, ends = _apply(s, starts, ends, _separator_edits(s))
    s, starts, ends = _casefold(s, starts, ends)
    s, starts, ends = _apply(s, starts, ends, _leet_edits(s))
    s, starts, ends = _apply(s, starts, ends, _stretch_edits(s))

    if isinstance(starts, range) and isinstance(ends, range):
        return Normalised(text, s)
    return Normalised(text, s, tuple(starts), tuple(ends))


_INSULT_EMOJI = re.compile("|".join(re.escape(e) for e in sorted(EMOJI, key=len, reverse=True)))


def has_insult_emoji(text: str) -> bool:
    """Whether `text` holds an emoji that normalisation turns into a word (the word
    depends on the language, so the text is normalised again once it is known)."""
    return not text.isascii() and _INSULT_EMOJI.search(text) is not None
