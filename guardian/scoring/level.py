"""From label scores and matches to a harassment level, reasons, and the masked text. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from guardian.policy.harassment import LEVELS, Level, Thresholds
from guardian.scoring.rules import Match
from guardian.types import LABELS, LabelScores

# What a lexicon word alone is worth: an insult aimed at someone is abusive, a swear word
# is rude (with the default thresholds).
LEXICON_RAISE = {"insult": 0.75, "obscene": 0.6, "identity_attack": 0.6, "threat": 0.6,
                 "sexual_explicit": 0.65}

PLACEHOLDERS = {
    "es": {"insult": "[insulto]", "obscene": "[grosería]", "threat": "[amenaza]",
           "identity_attack": "[ataque]", "sexual_explicit": "[acoso]",
           "personal_data": "[dato personal]", "toxicity": "[insulto]",
           "severe_toxicity": "[insulto]"},
    "en": {"insult": "[insult]", "obscene": "[obscenity]", "threat": "[threat]",
           "identity_attack": "[attack]", "sexual_explicit": "[harassment]",
           "personal_data": "[personal data]", "toxicity": "[insult]",
           "severe_toxicity": "[insult]"},
}


@dataclass(frozen=True)
class Judgement:
    labels: LabelScores
    level: Level
    reasons: tuple[str, ...]


def judge(model_scores: LabelScores, matches: Sequence[Match], thresholds: Thresholds
          ) -> Judgement:
    """Raise labels by matches, then take the highest level any label reaches."""
    labels = {label: float(model_scores.get(label, 0.0)) for label in LABELS}
    reasons: list[str] = []
    forced: Level = "none"
    for match in matches:
        if match.rule is not None:
            for label, value in match.rule.raise_labels.items():
                labels[label] = max(labels[label], value)
            if match.rule.level is not None and _rank(match.rule.level) > _rank(forced):
                forced = match.rule.level
            what = match.rule.description or match.kind
            reasons.append(f"rule {match.rule.id} matched ({what})")
        elif match.kind in LEXICON_RAISE:
            labels[match.kind] = max(labels[match.kind], LEXICON_RAISE[match.kind])
            reasons.append(f"{match.source} word matched")
    level: Level = forced
    for candidate in ("rude", "abusive", "threat"):
        for label, threshold in getattr(thresholds, candidate).items():
            if labels.get(label, 0.0) >= threshold and _rank(candidate) > _rank(level):
                level = candidate
                reasons.append(f"{label} {labels[label]:.2f} ≥ {candidate} threshold "
                               f"{threshold:.2f}")
    if forced != "none":
        reasons.append(f"level {forced} set by rule")
    return Judgement(labels=labels, level=level, reasons=tuple(dict.fromkeys(reasons)))


def _rank(level: str) -> int:
    return LEVELS.index(level)  # type: ignore[arg-type,unused-ignore]


WITHHELD = {"es": "[mensaje ofensivo retenido; lo revisa moderación]",
            "en": "[abusive message withheld; moderators review it]"}


def withheld(lang: str | None) -> str:
    """What staff see of an abusive text whose abusive part could not be singled out."""
    return WITHHELD.get(lang or "", WITHHELD["es"])


# When spans merge, the placeholder of the strongest kind stands for all of them.
_STRENGTH = ("obscene", "toxicity", "severe_toxicity", "insult", "sexual_explicit",
             "identity_attack", "personal_data", "threat")


def _stronger(a: str, b: str) -> str:
    rank = {kind: n for n, kind in enumerate(_STRENGTH)}
    return a if rank.get(a, 3) >= rank.get(b, 3) else b


def mask(original: str, spans: Sequence[tuple[int, int, str]], lang: str | None) -> str:
    """Replace each (start, end, kind) span of the original text by a placeholder.

    Spans that overlap, or that only spaces separate ("puta vaga", "eres un puto
    inútil"), become one placeholder, of the strongest kind among them; the rest of the
    text stays as written, so the request is still readable.
    """
    if not spans:
        return original
    words = PLACEHOLDERS.get(lang or "", PLACEHOLDERS["es"])
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans):
        if merged and (start <= merged[-1][1]
                       or original[merged[-1][1]:start].isspace()):
            first_start, first_end, first_kind = merged[-1]
            merged[-1] = (first_start, max(first_end, end), _stronger(first_kind, kind))
        else:
            merged.append((start, end, kind))
    out: list[str] = []
    cursor = 0
    for start, end, kind in merged:
        out.append(original[cursor:start])
        out.append(words.get(kind, words["insult"]))
        cursor = end
    out.append(original[cursor:])
    return "".join(out)


def words_with_offsets(text: str) -> list[tuple[int, int]]:
    """Whitespace-separated words of `text`, as (start, end)."""
    spans: list[tuple[int, int]] = []
    start = None
    for index, char in enumerate(text):
        if char.isspace():
            if start is not None:
                spans.append((start, index))
                start = None
        elif start is None:
            start = index
    if start is not None:
        spans.append((start, len(text)))
    return spans


_CLAUSE_END = re.compile(r"[.!?;:\n]+|,\s+|\s+(?:y|pero|and|but|porque|because)\s+")


def clauses(text: str) -> list[tuple[int, int]]:
    """The sentences and clauses of `text`, as (start, end), their punctuation left out."""
    found: list[tuple[int, int]] = []
    start = 0
    for m in _CLAUSE_END.finditer(text):
        if text[start:m.start()].strip():
            found.append(_trim(text, start, m.start()))
        start = m.end()
    if text[start:].strip():
        found.append(_trim(text, start, len(text)))
    return found


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


MAX_ATTRIBUTED_WORDS = 40


def leave_one_out_variants(text: str, max_words: int = MAX_ATTRIBUTED_WORDS
                           ) -> tuple[list[tuple[int, int]], list[str]]:
    """The words of `text` and the text without each of them (empty when too long)."""
    words = words_with_offsets(text)
    if not words or len(words) > max_words:
        return [], []
    return words, [text[:s] + text[e:] for s, e in words]


def decisive_words(words: Sequence[tuple[int, int]], base: float, without: Sequence[float],
                   min_drop: float = 0.25) -> list[tuple[int, int]]:
    """Words whose removal lowers the toxicity by at least `min_drop` and by half: the
    spans to mask when no lexicon word or rule explains a model's verdict."""
    return [span for span, value in zip(words, without, strict=True)
            if base - value >= min_drop and base - value >= 0.5 * base]


def leave_one_out(text: str, score: Callable[[list[str]], list[float]], *,
                  max_words: int = MAX_ATTRIBUTED_WORDS, min_drop: float = 0.25
                  ) -> list[tuple[int, int]]:
    """`decisive_words` of one text, scoring the text and its variants in one call."""
    words, variants = leave_one_out_variants(text, max_words)
    if not words:
        return []
    scores = score([text, *variants])
    return decisive_words(words, scores[0], scores[1:], min_drop)
