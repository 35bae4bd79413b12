"""Required literals of a regular expression: a cheap test that lets most texts skip it.

The grammar's rules are long alternations tried at every word of every message, the
costliest step of scoring. Most messages cannot match most rules: "te voy a matar" needs
the letters "matar" (or another harm verb) somewhere. `required(pattern)` reads the
pattern's syntax tree and returns a set of strings such that every match contains at
least one of them, or None when it cannot tell; `may_match(text)` is then a few substring
tests instead of a scan with backtracking. The same idea as RE2's and Hyperscan's
literal prefilters, on Python's own parser.

`LiteralIndex` answers for many patterns at once: one Aho-Corasick pass over the text
(pyahocorasick, in C) finds every required literal present, hence which patterns may
match. Python's `re` has no such multi-string search (an alternation of the same literals
is slower than the patterns themselves). Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from operator import itemgetter, or_

# Python's own parser of regular expressions (what `re.compile` uses). Typeshed has no
# stubs for them, yet a dependency that imports `re._parser` (schemathesis) makes mypy
# find them in a whole-project run: either way is fine.
from re import _constants as sre  # type: ignore[attr-defined,unused-ignore]
from re import _parser as sre_parse  # type: ignore[attr-defined,unused-ignore]
from typing import Any

import ahocorasick  # type: ignore[import-not-found,unused-ignore]

# A set of literals shorter than this is no use: "te" is in most Spanish messages.
MIN_LENGTH = 3
# Nor is a huge one (a union of every verb form): the test would cost more than it saves.
MAX_SIZE = 400

Literals = frozenset[str] | None


def _best(candidates: Iterable[frozenset[str]]) -> Literals:
    """The most selective of several sets that are each required: the one whose shortest
    member is longest (long strings are rare), then the smallest."""
    usable = [c for c in candidates if c and min(map(len, c)) >= MIN_LENGTH]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(map(len, c)), -len(c)))


def _item(op: Any, av: Any, flags: int) -> Literals:
    """Required literals of one parsed item other than a literal character."""
    if op is sre.SUBPATTERN:
        return _sequence(av[3], flags | av[1])
    if op is sre.BRANCH:
        return _branch(av[1], flags)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
        return _sequence(av[2], flags)
    if op is sre.ATOMIC_GROUP:
        return _sequence(av, flags)
    return None


def _each(items: Any, flags: int) -> list[frozenset[str]]:
    """The sets of literals a concatenation of parsed items needs, one of each set (runs
    of literal characters, and what each group, branch or repeat needs)."""
    candidates: list[frozenset[str]] = []
    run = ""
    for op, av in items:
        if op is sre.LITERAL and not flags & re.IGNORECASE:
            run += chr(av)
            continue
        if run:
            candidates.append(frozenset({run}))
            run = ""
        inner = _item(op, av, flags)
        if inner is not None:
            candidates.append(inner)
    if run:
        candidates.append(frozenset({run}))
    return [c for c in candidates if c and min(map(len, c)) >= MIN_LENGTH]


def _sequence(items: Any, flags: int) -> Literals:
    """Required literals of a concatenation of parsed items."""
    return _best(_each(items, flags))


def _branch(branches: Any, flags: int) -> Literals:
    found: set[str] = set()
    for branch in branches:
        literals = _sequence(branch, flags)
        if literals is None:
            return None
        found |= literals
        if len(found) > MAX_SIZE:
            return None
    return frozenset(found)


@functools.lru_cache(maxsize=256)
def _parsed(pattern: str) -> Any:
    """The syntax tree of `pattern` (read, never changed), parsed once for `required` and
    `alternatives`."""
    return sre_parse.parse(pattern)


def required(pattern: str) -> Literals:
    """Strings one of which is in every match of `pattern`, or None if unknown."""
    parsed = _parsed(pattern)
    return _sequence(parsed, parsed.state.flags)


Needs = tuple[frozenset[frozenset[str]], ...] | None


def alternatives(pattern: str) -> Needs:
    """What a match of `pattern` needs, finer than `required`: one entry per alternative
    of its outermost alternation (the grammar's rules are each a dozen ways of saying a
    thing), each a set of literal sets; a match contains a literal of every set of at
    least one alternative. None if unknown (an alternative needs nothing we can name)."""
    parsed = _parsed(pattern)
    flags = parsed.state.flags
    items = list(parsed)
    while len(items) == 1 and items[0][0] is sre.SUBPATTERN:  # a group around it all
        flags |= items[0][1][1]
        items = list(items[0][1][3])
    branches = [i for i, (op, _) in enumerate(items) if op is sre.BRANCH]
    if not branches:
        ways = [_each(items, flags)]
    else:
        at = branches[0]
        common = _each(items[:at] + items[at + 1:], flags)
        ways = [common + _each(branch, flags) for branch in items[at][1][1]]
    if not all(ways):
        return None
    return tuple(frozenset(way) for way in ways)


class LiteralIndex:
    """Which of several patterns may match a text, from the literals they need.

    One Aho-Corasick pass finds the literals present. A pattern may match when one of
    its required literals is there (`required`, a bit per pattern), and then only when
    every set of literals of one of its alternatives (`alternatives`) has one there: a
    bit per distinct set of literals, and a mask of those bits per alternative. The first
    test is implied by the second and cheaper, so the second runs only after it."""

    def __init__(self, patterns: Sequence[str | None]) -> None:
        # Patterns without required literals (or None: not a pattern) always run.
        self.always = 0
        owners: dict[str, int] = {}
        sets: dict[frozenset[str], int] = {}  # a set of literals -> its bit
        self._ways: list[tuple[int, tuple[int, ...]]] = []  # (pattern bit, alternatives)
        for index, pattern in enumerate(patterns):
            literals = required(pattern) if pattern is not None else None
            if literals is None:
                self.always |= 1 << index
                continue
            for literal in literals:
                owners[literal] = owners.get(literal, 0) | 1 << index
            ways = alternatives(pattern) if pattern is not None else None
            if ways is not None:
                masks = tuple(sum(1 << sets.setdefault(s, len(sets)) for s in way)
                              for way in ways)
                self._ways.append((1 << index, masks))
        # Each literal's value: the patterns it may let run (the low bits, one per
        # pattern), then the sets of literals it belongs to (the bits from `_shift` on).
        self._shift = len(patterns)
        self._patterns = (1 << self._shift) - 1
        values = dict(owners)
        for needed, bit in sets.items():
            for literal in needed:
                values[literal] = values.get(literal, 0) | 1 << (self._shift + bit)
        self._automaton = ahocorasick.Automaton()
        for literal, value in values.items():
            self._automaton.add_word(literal, value)
        self._empty = not owners
        if owners:
            self._automaton.make_automaton()

    def candidates(self, text: str) -> int:
        """A bit mask of the patterns (by index) that may match `text`."""
        if self._empty:
            return self.always
        found = functools.reduce(or_, map(itemgetter(1), self._automaton.iter(text)), 0)
        mask = self.always | found & self._patterns
        present = found >> self._shift
        for bit, ways in self._ways:
            if mask & bit and not any(way & present == way for way in ways):
                mask &= ~bit
        return mask


class WordIndex:
    """Whole words and phrases of a lexicon found in a text, as a regular expression
    `(?<!\\w)(?:word|...)(?:es|s)?(?!\\w)` would find them (leftmost, longest, without
    overlap), by one Aho-Corasick pass: an alternation of hundreds of words is the slowest
    pattern Python's `re` runs."""

    def __init__(self, words: Iterable[str], endings: Sequence[str] = ("",)) -> None:
        self._automaton = ahocorasick.Automaton()
        self.words = frozenset(w.casefold() for w in words)
        for word in self.words:
            for ending in endings:
                self._automaton.add_word(word + ending, len(word) + len(ending))
        self._empty = not self.words
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[tuple[int, int, str]]:
        if self._empty:
            return []
        best: dict[int, int] = {}
        for last, length in self._automaton.iter(text):
            start, end = last + 1 - length, last + 1
            if (start > 0 and _is_word(text[start - 1])) or (
                    end < len(text) and _is_word(text[end])):
                continue
            if length > best.get(start, 0):
                best[start] = length
        found: list[tuple[int, int, str]] = []
        reached = 0
        for start in sorted(best):
            if start >= reached:
                reached = start + best[start]
                found.append((start, reached, text[start:reached]))
        return found

    def fullmatch(self, token: str) -> bool:
        return any(start == 0 and end == len(token) for start, end, _ in self.find(token))


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
