"""Lexicons and rules, matched on normalised text. Pure: the built-ins are read once.

A rule either has a regular expression (per language, or `any`) or a named detector for
personal data (doxxing): an ID number with a valid check letter, a phone number next to a
staff member's name or handle, a home address attributed to someone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import yaml

from guardian.policy.harassment import HarassmentPolicy, Rule

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_ID_NUMBER = re.compile(r"\b(?:([xyz])[ -]?)?(\d{7,8})[ -]?([a-z])\b")
# Spanish mobiles: 612345678, 612 345 678, 612 34 56 78, with or without +34 / 0034.
_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)34[ .-]?)?[67]\d{2}"
                    r"(?:[ .-]?\d{3}[ .-]?\d{3}|[ .-]?\d{2}[ .-]?\d{2}[ .-]?\d{2})(?!\d)")
_PHONE_CONTEXT = re.compile(r"\b(su|tu|el) (m[oó]vil|tel[eé]fono|n[uú]mero|whatsapp)\b"
                            r"|\b(his|her|their) (phone|mobile|number|cell)\b"
                            r"|\b(ll[aá]ma(le|dle|r)?|call (him|her|them))\b")
_ADDRESS = re.compile(
    r"\b(vive|viven|vivís|vives|lives|live|living) (en|at|on|in) (la |el |the )?"
    r"(calle|c/|avenida|avda\.?|plaza|paseo|camino|carretera|street|st\.?|road|rd\.?|"
    r"avenue|ave\.?|lane)\s+[\w .'-]{2,40}?\b\d{1,4}\b"
)


@dataclass(frozen=True)
class Match:
    """A span of the normalised text that a lexicon word or a rule matched."""

    start: int
    end: int
    kind: str         # a label (insult, obscene, threat...) or "personal_data"
    source: str       # "lexicon:es:insult" or "rule:es.threat.kill"
    rule: Rule | None = None


@dataclass(frozen=True)
class CompiledRules:
    lexicon: dict[str, re.Pattern[str]]   # lang -> alternation of every word, by label group
    lexicon_labels: dict[str, dict[str, str]]  # lang -> word -> label
    rules: tuple[tuple[Rule, re.Pattern[str] | None], ...]

    def match(self, text: str, *, lang: str | None, protected: Sequence[str] = ()
              ) -> list[Match]:
        """Every lexicon and rule match in `text` (normalised), for `lang` and `any`."""
        found: list[Match] = []
        for language in _languages(lang, self.lexicon):
            labels = self.lexicon_labels[language]
            for m in self.lexicon[language].finditer(text):
                label = labels.get(m.group(0)) or _singular(m.group(0), labels)
                found.append(Match(m.start(), m.end(), label, f"lexicon:{language}:{label}"))
        for rule, pattern in self.rules:
            if rule.lang != "any" and lang is not None and rule.lang != lang:
                continue
            spans = (_detect(rule.detector, text, protected) if pattern is None
                     else [(m.start(), m.end()) for m in pattern.finditer(text)])
            kind = "personal_data" if rule.detector else _rule_kind(rule)
            found.extend(Match(s, e, kind, f"rule:{rule.id}", rule) for s, e in spans)
        return sorted(found, key=lambda x: (x.start, -x.end))


def _singular(word: str, labels: dict[str, str]) -> str:
    for cut in (2, 1):
        if word[:-cut] in labels:
            return labels[word[:-cut]]
    return "insult"


def _languages(lang: str | None, lexicon: dict[str, re.Pattern[str]]) -> list[str]:
    # Unknown language: try every lexicon rather than none.
    if lang is None:
        return sorted(lexicon)
    return [lang] if lang in lexicon else []


def _rule_kind(rule: Rule) -> str:
    if rule.raise_labels:
        return max(rule.raise_labels, key=lambda label: rule.raise_labels[label])
    return {"threat": "threat"}.get(rule.level or "", "insult")


def valid_id_number(prefix: str, digits: str, letter: str) -> bool:
    """Spanish DNI (8 digits) or NIE (X/Y/Z + 7 digits) with the right check letter."""
    if prefix:
        if len(digits) != 7:
            return False
        number = int(str("xyz".index(prefix)) + digits)
    else:
        if len(digits) != 8:
            return False
        number = int(digits)
    return _DNI_LETTERS[number % 23] == letter.upper()


def _detect(detector: str | None, text: str, protected: Sequence[str]) -> list[tuple[int, int]]:
    if detector == "id_number":
        return [(m.start(), m.end()) for m in _ID_NUMBER.finditer(text)
                if valid_id_number(m.group(1) or "", m.group(2), m.group(3))]
    if detector == "phone_number":
        # A town hall's own numbers are public; a number counts as personal only next to
        # a staff member's name or handle, or words like "su móvil".
        context = _PHONE_CONTEXT.search(text) is not None or any(
            p and p in text for p in protected)
        return [(m.start(), m.end()) for m in _PHONE.finditer(text)] if context else []
    if detector == "home_address":
        return [(m.start(), m.end()) for m in _ADDRESS.finditer(text)]
    return []


@functools.cache
def _builtin() -> tuple[dict[str, dict[str, list[str]]], tuple[Rule, ...]]:
    raw = yaml.safe_load(resources.files("guardian.scoring").joinpath("data/builtin.yaml")
                         .read_text(encoding="utf-8"))
    rules = tuple(Rule.model_validate(r) for r in raw["rules"])
    return raw["lexicons"], rules


# Plural endings per language ("rates" must not match "rat": English takes -s only).
_PLURALS = {"es": r"(?:es|s)?", "en": r"s?"}


def _word_pattern(words: Iterable[str], lang: str) -> re.Pattern[str]:
    # Longest first, so that "hijo de" beats "hijo"; \w boundaries keep "rata" out of
    # "pirata" and "ratatouille"; an optional plural ending (-s, -es) spares listing both.
    ordered = sorted({w.casefold() for w in words}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in ordered)
                      + r")" + _PLURALS.get(lang, "") + r"(?!\w)")


def compile_rules(policy: HarassmentPolicy) -> CompiledRules:
    builtin_lexicons, builtin_rules = _builtin()
    lexicons: dict[str, dict[str, list[str]]] = {}
    for source in (builtin_lexicons, policy.lexicons):
        for lang, by_label in source.items():
            for label, words in by_label.items():
                lexicons.setdefault(lang, {}).setdefault(label, []).extend(words)
    patterns: dict[str, re.Pattern[str]] = {}
    labels: dict[str, dict[str, str]] = {}
    for lang, by_label in lexicons.items():
        word_label = {w.casefold(): label for label, words in by_label.items() for w in words}
        if word_label:
            patterns[lang] = _word_pattern(word_label, lang)
            labels[lang] = word_label
    by_id: dict[str, Rule] = {}
    if policy.use_builtin_rules:
        by_id.update({r.id: r for r in builtin_rules})
    by_id.update({r.id: r for r in policy.rules})
    compiled = tuple((rule, re.compile(rule.pattern) if rule.pattern else None)
                     for rule in by_id.values())
    return CompiledRules(lexicon=patterns, lexicon_labels=labels, rules=compiled)
