"""Lexicons and rules, matched on normalised text. Pure: the built-ins are read once.

- Lexicons: words per language and label. An insult counts wherever it stands, but for
  the words that also name things (`ambiguous`: "rata", "cerdo", "inútil", "rat",
  "useless"...) only where they are aimed at a person (`guardian.scoring.address`): "hay
  ratas en el parque" is a report, "sois unas ratas" an insult. A swear word aimed at a
  person ("puta vaga") is an insult; otherwise it only makes the message rude.
- Rules: the built-in grammar of threats, incitement, sexual harassment and attacks on
  groups (`guardian.scoring.grammar`, matched on the text without accents), the policy's
  own regular expressions, and named detectors for personal data about *someone else*: an
  ID number with a valid check letter, a phone number attributed to a person ("su móvil",
  next to a staff member's name or handle; "llamadme al…" is the citizen's own), a home
  address attributed to someone ("vive en la calle…"; "vivo en…" is the citizen's own).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import yaml

from guardian.policy.harassment import HarassmentPolicy, Rule
from guardian.scoring.address import aimed_at_person
from guardian.scoring.grammar import builtin_rules as grammar_rules
from guardian.scoring.grammar import plain

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_ID_NUMBER = re.compile(r"\b(?:([xyz])[ -]?)?(\d{7,8})[ -]?([a-z])\b")
# Spanish mobiles: 612345678, 612 345 678, 612 34 56 78, with or without +34 / 0034.
_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)34[ .-]?)?[67]\d{2}"
                    r"(?:[ .-]?\d{3}[ .-]?\d{3}|[ .-]?\d{2}[ .-]?\d{2}[ .-]?\d{2})(?!\d)")
# Landlines (8xx, 9xx) are offices' numbers, personal only when said to be a home's.
_LANDLINE = re.compile(r"(?<![\d+])(?:(?:\+|00)34[ .-]?)?[89]\d{2}"
                       r"(?:[ .-]?\d{3}[ .-]?\d{3}|[ .-]?\d{2}[ .-]?\d{2}[ .-]?\d{2})(?!\d)")
_HOME_LINE = re.compile(r"\b(?:home (?:landline|phone|number)|landline at home|(?:fijo|telefono|"
                        r"numero) de (?:su )?casa|su fijo)\b")
# Said of someone else's phone (on the plain text: no accents).
_PHONE_THEIRS = re.compile(
    r"\b(?:su|sus) (?:movil|telefono|numero|whatsapp|fijo|tlf|tfno)\b"
    r"|\b(?:el|este es el) (?:movil|telefono|numero|whatsapp) (?:de|del) (?!mi\b|nuestr)"
    r"|\b(?:tiene|tienen) (?:este|el|estos) (?:movil|telefono|numero|whatsapp|fijo)"
    r"|\b(?:llamad|llamadle|llamadla|llamale|llamala|escribidle|escribele|agobiadle)\b"
    r"|\b(?:his|her|their) (?:phone|mobile|number|cell|whatsapp)\b"
    r"|\b\w+'s (?:phone|mobile|number|cell)\b"
    r"|\bcall (?:him|her|them)\b|\b(?:text|spam|ring) (?:him|her|them)\b")
# The citizen's own number ("llamadme", "mi movil", "call me"): a callback, not doxxing.
_PHONE_MINE = re.compile(
    r"\b(?:mi|nuestro) (?:movil|telefono|numero|whatsapp|fijo|tlf|tfno)\b"
    # The number of someone in the writer's family, given for their own errand.
    r"|\bmi (?:padre|madre|abuelo|abuela|hijo|hija|marido|mujer|esposo|esposa|pareja|"
    r"hermano|hermana|suegro|suegra|tio|tia)\b"
    r"|\bmy (?:dad|father|mum|mom|mother|grandad|grandfather|grandma|grandmother|son|"
    r"daughter|husband|wife|partner|brother|sister)\b"
    r"|\b(?:i'm|im|i am|estoy|soy)\b[^.]{0,40}\b(?:phone|telefono|movil|tlf)\b"
    r"|\b(?:llamadme|llamame|llamenme|llameme|contactadme|escribidme|avisadme|"
    r"me podeis llamar|me puedes llamar|podeis llamarme|localizarme|estoy en el|"
    r"contacto|contactar)\b"
    r"|\b(?:my|our) (?:phone|mobile|number|cell)\b|\b(?:call|text|reach|contact) (?:me|us)\b")
# Floor and door after a street number: "12, 2ºA", "5 bajo", "3, piso 2, puerta B".
_DOOR = (r"(?:[ ,]+(?:\d{1,2}\s*(?:o|a|º|ª)?\s*[a-z]?\b|bajo|atico|entresuelo|piso \w+|"
         r"puerta \w+|esc(?:alera)?\.? \w+|dcha|izda|derecha|izquierda|flat \w+|apt\.? \w+))*")
_ADDRESS = re.compile(
    r"\b(vive|viven|vivis|vives|lives|live|living|resides) (en|at|on|in) (la |el |the )?"
    r"(calle|c/|avenida|avda\.?|plaza|paseo|camino|carretera|street|st\.?|road|rd\.?|"
    r"avenue|ave\.?|lane)\s+[\w .'-]{2,40}?\b\d{1,4}\b" + _DOOR +
    r"|\b(?:su|la) (?:casa|direccion|domicilio|piso|portal) (?:de \w+ )?(?:esta|es) (?:en )?"
    r"(?:la |el )?(?:calle|c/|avenida|avda\.?|plaza|paseo|camino)\s+[\w .'-]{2,40}?"
    r"\b\d{1,4}\b" + _DOOR +
    r"|\b(?:his|her|their) (?:house|home|address|flat) is (?:at |on |in )?[\w .'-]{2,40}?"
    r"\b\d{1,4}\b" + _DOOR
)
# Said of the citizen's own home ("vivo en", "I live at").
_ADDRESS_MINE = re.compile(r"\b(?:vivo|vivimos|i|we|i've|we've)\s+(?:\w+\s+)?$")


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
    lexicon: dict[str, re.Pattern[str]]   # lang -> alternation of every word, by label group
    lexicon_labels: dict[str, dict[str, str]]  # lang -> word -> label
    # lang -> words that insult only when aimed at a person (they also name things)
    ambiguous: dict[str, frozenset[str]]
    # lang -> swear words that are exclamations ("joder", "ffs"), never aimed at anyone
    exclamations: dict[str, frozenset[str]]
    # lang -> every lexicon word, to read words run together ("putavaga")
    words: dict[str, frozenset[str]]
    # (rule, its pattern or None for a detector, whether it runs on the plain text)
    rules: tuple[tuple[Rule, re.Pattern[str] | None, bool], ...]

    def match(self, text: str, *, langs: Sequence[str] | None, protected: Sequence[str] = ()
              ) -> list[Match]:
        """Every lexicon and rule match in `text` (normalised) for the languages `langs`
        (every language when None) and for `any`."""
        found: list[Match] = []
        bare = plain(text)
        wanted = sorted(self.lexicon) if langs is None else [x for x in langs
                                                             if x in self.lexicon]
        for language in wanted:
            labels = self.lexicon_labels[language]
            ambiguous = self.ambiguous.get(language, frozenset())
            exclamations = self.exclamations.get(language, frozenset())
            spans = [(m.start(), m.end(), m.group(0)) for m in
                     self.lexicon[language].finditer(text)]
            spans += _compounds(text, self.words.get(language, frozenset()),
                                self.lexicon[language])
            for start, end, word in spans:
                label = labels.get(word) or _singular(word, labels)
                swear = label == "obscene"
                needs_aim = swear or word in ambiguous or _singular_in(word, ambiguous)
                aimed = (not needs_aim) or (
                    word not in exclamations
                    and aimed_at_person(bare, start, end, language, protected, swear=swear))
                if needs_aim and not aimed and not swear:
                    # An insult word naming a thing ("hay ratas en el parque"): kept as
                    # literal, so that a model's verdict on it can be checked without it.
                    found.append(Match(start, end, "literal", f"lexicon:{language}:literal",
                                       aimed=False))
                    continue
                kind = "insult" if swear and aimed else label
                found.append(Match(start, end, kind, f"lexicon:{language}:{label}",
                                   aimed=aimed))
        found = _in_insulting_sentences(text, found)
        for rule, pattern, on_plain in self.rules:
            if rule.lang != "any" and langs is not None and rule.lang not in langs:
                continue
            subject = bare if on_plain else text
            hits = (_detect(rule.detector, bare, protected) if pattern is None
                    else [(m.start(), m.end()) for m in pattern.finditer(subject)])
            kind = "personal_data" if rule.detector else _rule_kind(rule)
            found.extend(Match(s, e, kind, f"rule:{rule.id}", rule) for s, e in hits)
        return sorted(found, key=lambda x: (x.start, -x.end))


_SENTENCE = re.compile(r"[.!?\n]+")


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


def _compounds(text: str, words: frozenset[str], lexicon: re.Pattern[str]
               ) -> list[tuple[int, int, str]]:
    """Words run together that are two or three lexicon words ("putavaga", as spaced-out
    letters joined by normalisation read): a span for each part."""
    found: list[tuple[int, int, str]] = []
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if lexicon.fullmatch(token):
            continue
        parts = _split(token, words, 3)
        if parts:
            at = m.start()
            for part in parts:
                found.append((at, at + len(part), part))
                at += len(part)
    return found


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


@functools.lru_cache(maxsize=256)
def _owner(name: str) -> re.Pattern[str]:
    """A staff member said to own a number: "el móvil de Antonio", "antonio: 612...",
    "Antonio's number", "antonio tiene el 612...", "el 612... de antonio" (a mention alone
    addresses them)."""
    who = rf"@?{re.escape(name)}"
    return re.compile(
        rf"\b(?:movil|telefono|numero|whatsapp|fijo|phone|number|mobile|landline) "
        rf"(?:de |del |of )?{who}(?!\w)"
        rf"|(?<!\w){who}(?:'s| tiene| has)? (?:\w+ )?(?:movil|telefono|numero|whatsapp|fijo|"
        rf"phone|number|mobile|landline|cell)\b"
        rf"|(?<!\w){who}\s*[:=]\s*(?:\+|00)?\d"
        rf"|\d,? (?:es )?(?:de|del|of|is) {who}(?!\w)")


def _detect(detector: str | None, text: str, protected: Sequence[str]) -> list[tuple[int, int]]:
    if detector == "id_number":
        return [(m.start(), m.end()) for m in _ID_NUMBER.finditer(text)
                if valid_id_number(m.group(1) or "", m.group(2), m.group(3))]
    if detector == "phone_number":
        # A town hall's own numbers are public and a citizen's own is a callback: a number
        # is personal data only when said of someone else ("su móvil", "llamadle", next to
        # a staff member's name or handle) and not of the writer ("llamadme", "mi móvil").
        if _PHONE_MINE.search(text) is not None:
            return []
        theirs = _PHONE_THEIRS.search(text) is not None or any(
            p and _owner(plain(p)).search(text) for p in protected)
        if not theirs:
            return []
        found = [(m.start(), m.end()) for m in _PHONE.finditer(text)]
        if _HOME_LINE.search(text):
            found += [(m.start(), m.end()) for m in _LANDLINE.finditer(text)]
        return found
    if detector == "home_address":
        return [(m.start(), m.end()) for m in _ADDRESS.finditer(text)
                if _ADDRESS_MINE.search(text, 0, m.start()) is None]
    return []


@functools.cache
def _builtin() -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]],
                        dict[str, list[str]], tuple[Rule, ...]]:
    raw = yaml.safe_load(resources.files("guardian.scoring").joinpath("data/builtin.yaml")
                         .read_text(encoding="utf-8"))
    rules = tuple(Rule.model_validate(r) for r in raw["rules"])
    return raw["lexicons"], raw.get("ambiguous", {}), raw.get("exclamations", {}), rules


# Plural endings per language ("rates" must not match "rat": English takes -s only).
_PLURALS = {"es": r"(?:es|s)?", "en": r"s?"}


def _word_pattern(words: Iterable[str], lang: str) -> re.Pattern[str]:
    # Longest first, so that "hijo de" beats "hijo"; \w boundaries keep "rata" out of
    # "pirata" and "ratatouille"; an optional plural ending (-s, -es) spares listing both.
    ordered = sorted({w.casefold() for w in words}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in ordered)
                      + r")" + _PLURALS.get(lang, "") + r"(?!\w)")


def compile_rules(policy: HarassmentPolicy) -> CompiledRules:
    builtin_lexicons, builtin_ambiguous, builtin_exclamations, builtin_rules = _builtin()
    lexicons: dict[str, dict[str, list[str]]] = {}
    for source in (builtin_lexicons, policy.lexicons):
        for lang, by_label in source.items():
            for label, words in by_label.items():
                lexicons.setdefault(lang, {}).setdefault(label, []).extend(words)
    ambiguous = {lang: frozenset(w.casefold() for w in words)
                 for lang, words in builtin_ambiguous.items()}
    exclamations = {lang: frozenset(w.casefold() for w in words)
                    for lang, words in builtin_exclamations.items()}
    patterns: dict[str, re.Pattern[str]] = {}
    labels: dict[str, dict[str, str]] = {}
    for lang, by_label in lexicons.items():
        word_label = {w.casefold(): label for label, words in by_label.items() for w in words}
        if word_label:
            patterns[lang] = _word_pattern(word_label, lang)
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
    return CompiledRules(lexicon=patterns, lexicon_labels=labels, ambiguous=ambiguous,
                         exclamations=exclamations, words=single, rules=compiled)
