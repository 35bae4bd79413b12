"""Lexicons and rules, matched on normalised text. Pure: the built-ins are read once.

- Lexicons: words per language and label. An insult counts wherever it stands, but for
  the words that also name things (`ambiguous`: "rata", "cerdo", "inútil", "rat",
  "useless"...) only where they are aimed at a person (`guardian.scoring.address`): "hay
  ratas en el parque" is a report, "sois unas ratas" an insult. A swear word aimed at a
  person ("puta vaga") is an insult; otherwise it only makes the message rude.
- Rules: the built-in grammar of threats, incitement, sexual harassment and attacks on
  groups (`guardian.scoring.grammar`, matched on the text without accents), the policy's
  own regular expressions, and named detectors for personal data about *someone else*
  (`guardian.scoring.personal`): an ID number, a phone number, a private e-mail or a home
  address said to be someone else's; the citizen's own callback number and the street of
  the problem are not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import yaml

from guardian.policy.harassment import HarassmentPolicy, Rule
from guardian.scoring import personal
from guardian.scoring.address import aimed_at_person
from guardian.scoring.grammar import builtin_rules as grammar_rules
from guardian.scoring.grammar import plain
from guardian.scoring.personal import valid_id_number
from guardian.scoring.prefilter import LiteralIndex, WordIndex

__all__ = ["CompiledRules", "Match", "compile_rules", "spellings", "valid_id_number"]

@dataclass(frozen=True)
class Match:
    """A span of the normalised text that a lexicon word or a rule matched."""

    start: int
    end: int
    kind: str         # a label (insult, obscene, threat...) or "personal_data"
    source: str       # "lexicon:es:insult" or "rule:es.threat.kill"
    rule: Rule | None = None
    # A lexicon word aimed at a person. Masked at every level; a swear word that is not
    # aimed at anyone only makes a message rude, and staff see it as written.
    aimed: bool = True


@dataclass(frozen=True)
class CompiledRules:
    lexicon: dict[str, WordIndex]   # lang -> every word of every label
    lexicon_labels: dict[str, dict[str, str]]  # lang -> word -> label
    # lang -> words that insult only when aimed at a person (they also name things)
    ambiguous: dict[str, frozenset[str]]
    # lang -> swear words that are exclamations ("joder", "ffs"), never aimed at anyone
    exclamations: dict[str, frozenset[str]]
    # lang -> every lexicon word, to read words run together ("putavaga")
    words: dict[str, frozenset[str]]
    # (rule, its pattern or None for a detector, whether it runs on the plain text)
    rules: tuple[tuple[Rule, re.Pattern[str] | None, bool], ...]

    # Which rules may match a text, from the literals each needs (`prefilter`): one pass
    # over the plain text for the grammar, one over the normalised text for the others.
    plain_index: LiteralIndex
    text_index: LiteralIndex

    def match(self, text: str, *, langs: Sequence[str] | None, protected: Sequence[str] = ()
              ) -> list[Match]:
        """Every lexicon and rule match in `text` (normalised) for the languages `langs`
        (every language when None) and for `any`."""
        found: list[Match] = []
        bare = plain(text)
        wanted = sorted(self.lexicon) if langs is None else [x for x in langs
                                                             if x in self.lexicon]
        tokens: list[str] | None = None  # words that may be lexicon words run together
        for language in wanted:
            labels = self.lexicon_labels[language]
            ambiguous = self.ambiguous.get(language, frozenset())
            exclamations = self.exclamations.get(language, frozenset())
            spans = self.lexicon[language].find(text)
            if tokens is None:
                tokens = _TOKEN.findall(text)
            spans += _compounds(text, tokens, self.words.get(language, frozenset()),
                                self.lexicon[language])
            for start, end, word in spans:
                label = labels.get(word) or _singular(word, labels)
                swear = label == "obscene"
                # A word in quotes is mentioned, not used: "le llaman 'gordo' en el cole",
                # "han pintado 'IDIOTS' en la puerta"; one said of oneself insults no one.
                quoted = _quoted(text, start, end) or _said_of_oneself(bare, start)
                needs_aim = (swear or quoted or word in ambiguous
                             or _singular_in(word, ambiguous))
                if quoted:
                    aimed = False
                elif not needs_aim:
                    aimed = True
                else:
                    aimed = word not in exclamations and aimed_at_person(
                        bare, start, end, language, protected, swear=swear)
                if needs_aim and not aimed and (quoted or not swear):
                    # An insult word naming a thing ("hay ratas en el parque"): kept as
                    # literal, so that a model's verdict on it can be checked without it.
                    found.append(Match(start, end, "literal", f"lexicon:{language}:literal",
                                       aimed=False))
                    continue
                kind = "insult" if swear and aimed else label
                found.append(Match(start, end, kind, f"lexicon:{language}:{label}",
                                   aimed=aimed))
        found = _in_insulting_sentences(text, found)
        may = self.plain_index.candidates(bare) & self.text_index.candidates(text)
        for index, (rule, pattern, on_plain) in enumerate(self.rules):
            if rule.lang != "any" and langs is not None and rule.lang not in langs:
                continue
            if not may >> index & 1:
                continue  # it needs words the text does not have
            subject = bare if on_plain else text
            hits = (personal.find(rule.detector or "", bare, protected) if pattern is None
                    else [(m.start(), m.end()) for m in pattern.finditer(subject)])
            kind = "personal_data" if rule.detector else _rule_kind(rule)
            found.extend(Match(s, e, kind, f"rule:{rule.id}", rule) for s, e in hits)
        return sorted(found, key=lambda x: (x.start, -x.end))


_SENTENCE = re.compile(r"[.!?\n]+")
_OPEN_QUOTES = frozenset("'\"«\u201c\u2018`")  # straight, angled, curly (left), grave
_CLOSE_QUOTES = frozenset("'\"»\u201d\u2019`")  # and their closing forms


# "soy una pringada", "I'm such an idiot": said of the writer, not of anyone else.
_ONESELF = re.compile(
    r"(?<!\w)(?:soy|somos|era|eramos|fui|me siento|me senti|parezco|me llamo|"
    r"i'm|im|i am|i was|we're|we are|call me)\s+(?:(?:un|una|unos|unas|el|la|tan|muy|mas|"
    r"such|a|an|the|so|a bit of|a bit|total|complete|bloody)\s+){0,2}$")


def _said_of_oneself(bare: str, start: int) -> bool:
    return _ONESELF.search(bare, max(0, start - 40), start) is not None


def _quoted(text: str, start: int, end: int) -> bool:
    """Whether the words at text[start:end] stand alone inside quotation marks."""
    return (start > 0 and text[start - 1] in _OPEN_QUOTES
            and end < len(text) and text[end] in _CLOSE_QUOTES)


def _in_insulting_sentences(text: str, found: list[Match]) -> list[Match]:
    """A word that can name a thing is an insult in a sentence that insults someone ("el
    médico es un matasanos y la de las citas una inútil")."""
    aimed = [m for m in found if m.aimed and m.kind in ("insult", "identity_attack")]
    if not aimed:
        return found
    result = []
    for m in found:
        if m.kind == "literal" and any(_same_sentence(text, m, a) for a in aimed):
            m = Match(m.start, m.end, "insult", m.source.replace(":literal", ":insult"),
                      aimed=True)
        result.append(m)
    return result


def _same_sentence(text: str, a: Match, b: Match) -> bool:
    low, high = min(a.start, b.start), max(a.end, b.end)
    return _SENTENCE.search(text, low, high) is None


def _singular(word: str, labels: dict[str, str]) -> str:
    for cut in (2, 1):
        if word[:-cut] in labels:
            return labels[word[:-cut]]
    return "insult"


def _singular_in(word: str, words: frozenset[str]) -> bool:
    return any(word[:-cut] in words for cut in (2, 1))


_TOKEN = re.compile(r"(?<![\w@])[^\W\d_]{6,24}(?!\w)")


def _compounds(text: str, tokens: Sequence[str], words: frozenset[str], lexicon: WordIndex
               ) -> list[tuple[int, int, str]]:
    """Words run together that are two or three lexicon words ("putavaga", as spaced-out
    letters joined by normalisation read): a span for each part (`tokens`: the text's
    `_TOKEN`s)."""
    split = _splitter(words, lexicon)
    if not any(map(split, tokens)):
        return []  # most texts: no token is made of lexicon words
    found: list[tuple[int, int, str]] = []
    for m in _TOKEN.finditer(text):
        parts = split(m.group(0))
        if parts:
            at = m.start()
            for part in parts:
                found.append((at, at + len(part), part))
                at += len(part)
    return found


@functools.lru_cache(maxsize=8)
def _splitter(words: frozenset[str], lexicon: WordIndex
              ) -> Callable[[str], tuple[str, ...] | None]:
    """`token` as the lexicon words run together in it (None when it is a lexicon word
    itself, or not made of them), remembered per token: most tokens recur."""
    heads = _heads(words)

    @functools.lru_cache(maxsize=1 << 15)
    def split(token: str) -> tuple[str, ...] | None:
        if token[:3] not in heads or lexicon.fullmatch(token):
            return None
        parts = _split(token, words, 3)
        return tuple(parts) if parts else None

    return split


@functools.lru_cache(maxsize=8)
def _heads(words: frozenset[str]) -> frozenset[str]:
    """The first three letters of every lexicon word: a run of words starts with one."""
    return frozenset(w[:3] for w in words)


def _split(token: str, words: frozenset[str], most: int) -> list[str] | None:
    """`token` as a run of at most `most` lexicon words (3 letters or more each), or None."""
    if token in words:
        return [token]
    if most == 1:
        return None
    for cut in range(3, len(token) - 2):
        head = token[:cut]
        if head in words:
            rest = _split(token[cut:], words, most - 1)
            if rest:
                return [head, *rest]
    return None


def _rule_kind(rule: Rule) -> str:
    if rule.raise_labels:
        return max(rule.raise_labels, key=lambda label: rule.raise_labels[label])
    return {"threat": "threat"}.get(rule.level or "", "insult")


@functools.cache
def _builtin() -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]],
                        dict[str, list[str]], tuple[Rule, ...]]:
    raw = yaml.safe_load(resources.files("guardian.scoring").joinpath("data/builtin.yaml")
                         .read_text(encoding="utf-8"))
    rules = tuple(Rule.model_validate(r) for r in raw["rules"])
    return raw["lexicons"], raw.get("ambiguous", {}), raw.get("exclamations", {}), rules


# Plural endings per language ("rates" must not match "rat": English takes -s only).
_PLURALS = {"es": ("", "s", "es"), "en": ("", "s")}


def _word_index(words: Iterable[str], lang: str) -> WordIndex:
    # Whole words only ("rata" is not in "pirata" or "ratatouille"), the longest at a place
    # ("hijo de puta" over "hijo"), with an optional plural ending (-s, -es).
    return WordIndex(words, _PLURALS.get(lang, ("",)))


_UNACCENT = str.maketrans("áéíóúàèìòùäëïöüâêîôû", "aeiouaeiouaeiouaeiou")


def spellings(word: str, lang: str) -> list[str]:
    """A lexicon word as people write it: with and without accents ("inútil", "inutil"; the
    "ñ" stays, "coño" is not "cono"), and in Spanish with the "d" of "-ado", "-ido" dropped
    as in speech ("enchufao", "pringao", "malnacío")."""
    word = word.casefold()
    found = [word, word.translate(_UNACCENT)]
    if lang == "es":
        for written in list(found):
            if written.endswith("ado"):
                found.append(written[:-3] + "ao")
            elif written.endswith(("ido", "ído")):
                found += [written[:-3] + "ío", written[:-3] + "io"]
    return list(dict.fromkeys(found))


def compile_rules(policy: HarassmentPolicy) -> CompiledRules:
    builtin_lexicons, builtin_ambiguous, builtin_exclamations, builtin_rules = _builtin()
    lexicons: dict[str, dict[str, list[str]]] = {}
    for source in (builtin_lexicons, policy.lexicons):
        for lang, by_label in source.items():
            for label, words in by_label.items():
                lexicons.setdefault(lang, {}).setdefault(label, []).extend(
                    spelled for w in words for spelled in spellings(w, lang))
    ambiguous = {lang: frozenset(s for w in words for s in spellings(w, lang))
                 for lang, words in builtin_ambiguous.items()}
    exclamations = {lang: frozenset(s for w in words for s in spellings(w, lang))
                    for lang, words in builtin_exclamations.items()}
    patterns: dict[str, WordIndex] = {}
    labels: dict[str, dict[str, str]] = {}
    for lang, by_label in lexicons.items():
        word_label = {w.casefold(): label for label, words in by_label.items() for w in words}
        if word_label:
            patterns[lang] = _word_index(word_label, lang)
            labels[lang] = word_label
    by_id: dict[str, tuple[Rule, bool]] = {}
    if policy.use_builtin_rules:
        by_id.update({r.id: (r, True) for r in grammar_rules()})
        by_id.update({r.id: (r, False) for r in builtin_rules})
    by_id.update({r.id: (r, False) for r in policy.rules})
    compiled = tuple((rule, re.compile(rule.pattern) if rule.pattern else None, on_plain)
                     for rule, on_plain in by_id.values())
    single = {lang: frozenset(w for w in by_word if " " not in w and len(w) >= 3)
              for lang, by_word in labels.items()}
    return CompiledRules(
        lexicon=patterns, lexicon_labels=labels, ambiguous=ambiguous,
        exclamations=exclamations, words=single, rules=compiled,
        plain_index=LiteralIndex([r.pattern if on_plain else None for r, _, on_plain in compiled]),
        text_index=LiteralIndex([None if on_plain else r.pattern for r, _, on_plain in compiled]))
