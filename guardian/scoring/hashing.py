"""Hashed n-gram features exactly as scikit-learn's `HashingVectorizer` makes them, faster.

Both shipped linear models (the Spanish lite model, `linear.py`, and the signal model,
`signals.py`) were trained on `HashingVectorizer(alternate_sign=False, norm="l2",
lowercase=False, dtype=float32)` features. Most of their scoring time went to making
those features: a Python loop per n-gram in the analyzer, then a loop that encodes and
hashes every n-gram again, for words that recur in almost every message ("que", "la",
"the"). `NgramHasher` gives the same matrix (the same indices, the same float32 values,
bit for bit; `tests/scoring/test_hashing.py` compares them) while remembering what it has
hashed: a word's character n-grams (char_wb), an n-gram of characters (char), a single
word (word; pairs of words are mostly new, so they are hashed every time). A word seen
before costs one dictionary look-up; what a batch has not seen (new words' n-grams, pairs
of words) is hashed at once by NumPy (`murmurhash3_many`); counting, sorting and the L2
norm are done for the whole batch with NumPy too.

The hash is scikit-learn's (`murmurhash3_32`, signed, seed 0; the column is
`abs(h) % n_features` as in `FeatureHasher`, whose special case for h = -2**31 gives the
same; `murmurhash3_many` is the same MurmurHash3 on NumPy arrays, tested against it), so
the shipped weights need no retraining, and the models' probe scores, checked at load,
still catch a change in it. Pure: no I/O, no clock. The memory is bounded
(emptied when full) and may be shared between threads (at worst a word is hashed twice).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain, pairwise, product
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.utils import murmurhash3_32

__all__ = ["ANALYZERS", "CACHE_SIZE", "TABLE_SIZE", "NgramHasher"]

ANALYZERS = ("char_wb", "char", "word")
# As scikit-learn's vectorizers: a run of two or more white-space characters is one space.
_WHITE_SPACES = re.compile(r"\s\s+")
# sklearn's default token pattern (words of two characters or more).
_TOKENS = r"(?u)\b\w\w+\b"
# Token patterns and faster ones that find the same tokens: a maximal run of word
# characters is bounded by \b on both sides, so the assertions test nothing.
SAME_TOKENS = {r"(?u)\b\w+\b": r"\w+", r"(?u)\b\w\w+\b": r"\w\w+"}
# Words or n-grams remembered; the memory is emptied when a batch finds more.
CACHE_SIZE = 1 << 16
# The most n-grams of an alphabet whose columns are tabulated.
TABLE_SIZE = 1 << 20


class NgramHasher:
    """`HashingVectorizer(analyzer=..., ngram_range=..., n_features=..., token_pattern=...,
    alternate_sign=False, norm="l2", lowercase=False, dtype=np.float32).transform`."""

    def __init__(self, analyzer: str, ngram_range: tuple[int, int], n_features: int,
                 token_pattern: str = _TOKENS, cache_size: int = CACHE_SIZE,
                 alphabet: str = "") -> None:
        if analyzer not in ANALYZERS:
            raise ValueError(f"analyzer: expected one of {ANALYZERS}, got {analyzer!r}")
        low, high = ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range: expected 1 <= min <= max, got {ngram_range}")
        if not 1 <= n_features <= 2**31 - 1:
            raise ValueError(f"n_features: expected 1..2**31-1, got {n_features}")
        self.analyzer = analyzer
        self.ngram_range = (int(low), int(high))
        self.n_features = int(n_features)
        self.cache_size = cache_size
        self._tokens = re.compile(token_pattern)
        if self._tokens.groups > 1:
            raise ValueError("token_pattern: at most one capturing group")
        self._tokens = re.compile(SAME_TOKENS.get(token_pattern, token_pattern))
        # char_wb: word -> its n-grams' columns (int32 bytes); char: n-gram -> column;
        # word: word -> column
        self._seen: dict[str, Any] = {}
        # char: texts written in a small alphabet (the signal model's word classes) have
        # every n-gram's column in a table, computed once (when it is small enough).
        if alphabet and (analyzer != "char" or len(set(alphabet)) != len(alphabet)
                         or not alphabet.isascii() or any(c.isspace() for c in alphabet)):
            raise ValueError("alphabet: distinct ASCII characters other than white space, "
                             "for the char analyzer")
        small = sum(len(alphabet) ** n for n in range(low, high + 1)) <= TABLE_SIZE
        self.alphabet = alphabet if small else ""
        self._tables: list[NDArray[np.int64]] | None = None

    # -- n-grams, as sklearn's analyzers make them ------------------------------------

    def column(self, gram: str) -> int:
        """The column of one n-gram."""
        column: int = abs(murmurhash3_32(gram, 0, False)) % self.n_features
        return column

    def word_grams(self, word: str) -> list[str]:
        """sklearn's `_char_wb_ngrams` of one word: the n-grams of " word "; a word no
        longer than an order counts once, whole, and ends the orders."""
        low, high = self.ngram_range
        padded = f" {word} "
        length = len(padded)
        found: list[str] = []
        for n in range(low, high + 1):
            if length <= n:
                found.append(padded)
                break
            found += [padded[i:i + n] for i in range(length - n + 1)]
        return found

    def char_grams(self, text: str) -> list[str]:
        """sklearn's `_char_ngrams`."""
        low, high = self.ngram_range
        text = _WHITE_SPACES.sub(" ", text)
        length = len(text)
        found = list(text) if low == 1 else []
        for n in range(max(low, 2), min(high + 1, length + 1)):
            found += [text[i:i + n] for i in range(length - n + 1)]
        return found

    def word_runs(self, tokens: Sequence[str]) -> list[str]:
        """sklearn's `_word_ngrams` of two words or more (the single words are the
        tokens themselves)."""
        low, high = self.ngram_range
        count = len(tokens)
        found: list[str] = []
        for n in range(max(low, 2), min(high + 1, count + 1)):
            if n == 2:
                found += [f"{a} {b}" for a, b in pairwise(tokens)]
            else:
                found += [" ".join(tokens[i:i + n]) for i in range(count - n + 1)]
        return found

    # -- columns of a batch, with the text each belongs to ---------------------------------

    def _new_words(self, words: Sequence[str]) -> dict[str, bytes]:
        """Remember the columns of words not seen before (char_wb), as int32 bytes (a
        fifth of the memory of a tuple of ints; a batch's are joined in one call). Their
        n-grams are hashed together by NumPy (`murmurhash3_many`), read as spans of the
        padded words run together, never made into strings."""
        padded = [f" {w} " for w in words]
        lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
        firsts = np.zeros(len(padded), dtype=np.int64)
        np.cumsum(lengths[:-1], out=firsts[1:])
        data, offsets = utf8("".join(padded))
        owners: list[NDArray[np.int64]] = []
        starts: list[NDArray[np.int64]] = []
        ends: list[NDArray[np.int64]] = []
        low, high = self.ngram_range
        alive = np.arange(len(padded))
        for n in range(low, high + 1):
            # sklearn's `_char_wb_ngrams`: a word no longer than the order counts once,
            # whole, and has no longer orders.
            whole = lengths[alive] <= n
            done = alive[whole]
            owners.append(done)
            starts.append(firsts[done])
            ends.append(firsts[done] + lengths[done])
            alive = alive[~whole]
            counts = lengths[alive] - n + 1
            owner = np.repeat(alive, counts)
            within = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
            owners.append(owner)
            starts.append(firsts[owner] + within)
            ends.append(firsts[owner] + within + n)
        owner = np.concatenate(owners)
        begin, end = offsets[np.concatenate(starts)], offsets[np.concatenate(ends)]
        columns = columns_of(murmurhash3_many(data, begin, end - begin), self.n_features)
        order = np.argsort(owner, kind="stable")
        blob = columns[order].astype(np.int32).tobytes()
        bounds = (4 * np.concatenate(([0], np.cumsum(np.bincount(
            owner, minlength=len(padded)))))).tolist()
        made = {word: blob[a:b] for word, a, b in zip(words, bounds, bounds[1:],
                                                     strict=False)}
        self._seen.update(made)
        return made

    def _new_gram(self, gram: str) -> int:
        column: int = abs(murmurhash3_32(gram, 0, False)) % self.n_features
        self._seen[gram] = column
        return column

    def _char_wb_columns(self, texts: Sequence[str]
                         ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        # `str.split` splits at the white space that sklearn's regex first squeezes.
        words = [text.split() for text in texts]
        flat = list(chain.from_iterable(words))
        get = self._seen.get
        parts: list[Any] = list(map(get, flat))
        if None in parts:
            made = self._new_words(list(dict.fromkeys(
                w for w, p in zip(flat, parts, strict=True) if p is None)))
            parts = [made[w] if p is None else p for w, p in zip(flat, parts, strict=True)]
        sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)) // 4
        columns = np.frombuffer(b"".join(parts), dtype=np.int32).astype(np.int64)
        return np.repeat(_rows(words), sizes), columns

    def _char_columns(self, texts: Sequence[str]
                      ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        if self.alphabet:
            found = self._alphabet_columns(texts)
            if found is not None:
                return found
        grams = [self.char_grams(text) for text in texts]
        get, new = self._seen.get, self._new_gram
        columns = [c if (c := get(g)) is not None else new(g)
                   for g in chain.from_iterable(grams)]
        return _rows(grams), np.array(columns, dtype=np.int64)

    def _tables_of_alphabet(self) -> list[NDArray[np.int64]]:
        """For each order n, the column of every n-gram of the alphabet, by its number
        in base len(alphabet) (the first character the most significant)."""
        if self._tables is None:
            low, high = self.ngram_range
            self._tables = [np.array([self.column("".join(gram)) for gram in
                                      product(self.alphabet, repeat=n)], dtype=np.int64)
                            for n in range(low, high + 1)]
        return self._tables

    def _alphabet_columns(self, texts: Sequence[str]
                          ) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
        """`_char_columns` of texts written in the alphabet, by NumPy (None when one is
        not): each n-gram is a number, its column is read from a table."""
        joined = "".join(texts)
        if not joined.isascii():
            return None
        lookup = np.full(128, -1, dtype=np.int64)
        lookup[np.frombuffer(self.alphabet.encode(), dtype=np.uint8)] = np.arange(
            len(self.alphabet))
        symbols = lookup[np.frombuffer(joined.encode(), dtype=np.uint8)]
        if (symbols < 0).any():
            return None
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        ends = np.cumsum(lengths)
        text_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        low = self.ngram_range[0]
        base = len(self.alphabet)
        rows: list[NDArray[np.int64]] = []
        columns: list[NDArray[np.int64]] = []
        size = len(symbols)
        number = np.zeros(size, dtype=np.int64)
        for n, table in enumerate(self._tables_of_alphabet(), start=low):
            # The number of the n-gram starting at each position, where one fits (the
            # others hold what is left of a shorter one, and are not read).
            for k in range(n - 1 if n > low else 0, n):
                if k < size:
                    number[:size - k] = number[:size - k] * base + symbols[k:]
            fits = np.flatnonzero(np.arange(len(symbols)) + n <= ends[text_of])
            rows.append(text_of[fits])
            columns.append(table[number[fits]])
        return np.concatenate(rows), np.concatenate(columns)

    def _word_columns(self, texts: Sequence[str]
                      ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        tokens = [self._tokens.findall(text) for text in texts]
        low, high = self.ngram_range
        rows: list[NDArray[np.int64]] = []
        columns: list[int] = []
        if low == 1:
            get, new = self._seen.get, self._new_gram
            columns += [c if (c := get(t)) is not None else new(t)
                        for t in chain.from_iterable(tokens)]
            rows.append(_rows(tokens))
        if high >= 2:
            # Runs of words: hashed each time (most are new).
            runs = [self.word_runs(found) for found in tokens]
            rows.append(_rows(runs))
            return np.concatenate(rows), np.concatenate(
                (np.array(columns, dtype=np.int64),
                 hash_strings(list(chain.from_iterable(runs)), self.n_features)))
        return np.concatenate(rows), np.array(columns, dtype=np.int64)

    # -- a batch -------------------------------------------------------------------

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The (texts x n_features) float32 CSR matrix, rows L2-normalised, indices sorted:
        what `HashingVectorizer.transform` returns for the same texts."""
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got a single str")
        rows, n = len(texts), self.n_features
        if len(self._seen) > self.cache_size:
            self._seen.clear()
        made = {"char_wb": self._char_wb_columns, "char": self._char_columns,
                "word": self._word_columns}[self.analyzer]
        row_of, columns = made(texts)
        if not len(columns):
            return sparse.csr_matrix((rows, n), dtype=np.float32)
        keys = row_of * n + columns
        if rows * n < 2**31:
            keys = keys.astype(np.int32)  # sorts faster
        unique, repeats = np.unique(keys, return_counts=True)
        owner, indices = np.divmod(unique.astype(np.int64), n)
        indptr = np.zeros(rows + 1, dtype=np.int32)
        np.cumsum(np.bincount(owner, minlength=rows), out=indptr[1:])
        # As sklearn: counts summed in float32 (exact), their squares in float64, each
        # value divided in float64 by the root of that sum and stored as float32.
        values = repeats.astype(np.float64)
        norms = np.sqrt(np.bincount(owner, weights=values * values, minlength=rows))
        data = (values / norms[owner]).astype(np.float32)
        matrix = sparse.csr_matrix((data, indices.astype(np.int32), indptr), shape=(rows, n))
        matrix.has_sorted_indices = True
        return matrix


# --- MurmurHash3 (x86, 32 bits, seed 0) of many byte strings at once ----------------------

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _rotl(x: NDArray[np.uint32], r: int) -> NDArray[np.uint32]:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix(k: NDArray[np.uint32]) -> NDArray[np.uint32]:
    return _rotl(k * _C1, 15) * _C2


def murmurhash3_many(data: NDArray[np.uint8], starts: NDArray[np.int64],
                     lengths: NDArray[np.int64]) -> NDArray[np.uint32]:
    """MurmurHash3_x86_32 with seed 0 (scikit-learn's `murmurhash3_32`, unsigned) of each
    `data[start:start + length]`, by NumPy: the same arithmetic on arrays of uint32, which
    wrap as the C code's do."""
    padded = np.concatenate((data, np.zeros(4, dtype=np.uint8))).astype(np.uint32)
    h = np.zeros(len(starts), dtype=np.uint32)
    blocks = lengths // 4
    for j in range(int(blocks.max(initial=0))):
        which = np.flatnonzero(blocks > j)
        at = starts[which] + 4 * j
        k = (padded[at] | padded[at + 1] << np.uint32(8) | padded[at + 2] << np.uint32(16)
             | padded[at + 3] << np.uint32(24))
        mixed = _rotl(h[which] ^ _mix(k), 13)
        h[which] = mixed * np.uint32(5) + np.uint32(0xE6546B64)
    tail = lengths & 3
    at = starts + 4 * blocks
    k = np.zeros(len(starts), dtype=np.uint32)
    for size, shift in ((3, 16), (2, 8), (1, 0)):
        has = tail >= size
        k[has] ^= padded[at[has] + size - 1] << np.uint32(shift)
    h ^= _mix(k)  # 0 where there is no tail
    h ^= lengths.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def columns_of(hashes: NDArray[np.uint32], n_features: int) -> NDArray[np.int64]:
    """FeatureHasher's column of each hash: abs of the signed hash, modulo n_features."""
    return np.abs(hashes.view(np.int32).astype(np.int64)) % n_features


def utf8(text: str) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """`text` in UTF-8 bytes, and the byte offset of each character (and of the end)."""
    if text.isascii():
        return (np.frombuffer(text.encode("ascii"), dtype=np.uint8),
                np.arange(len(text) + 1, dtype=np.int64))
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    sizes = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    offsets = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8), offsets


def hash_strings(strings: Sequence[str], n_features: int) -> NDArray[np.int64]:
    """The column of each string, as `FeatureHasher` computes it, for many at once."""
    if not strings:
        return np.zeros(0, dtype=np.int64)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    firsts = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=firsts[1:])
    data, offsets = utf8("".join(strings))
    begin, end = offsets[firsts[:-1]], offsets[firsts[1:]]
    return columns_of(murmurhash3_many(data, begin, end - begin), n_features)


def _rows(per_text: Sequence[Sequence[Any]]) -> NDArray[np.int64]:
    """The text each item of the flattened lists belongs to."""
    return np.repeat(np.arange(len(per_text), dtype=np.int64),
                     np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text)))
