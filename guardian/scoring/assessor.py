"""Assessment of texts: language, normalisation, model, lexicons and rules, level, mask.

`Assessor.assess` is synchronous and CPU-bound: the pipeline runs it in an executor so the
event loop never blocks. It reads no clock and does no I/O beyond the model it was given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from guardian.policy.harassment import HarassmentPolicy, Level
from guardian.policy.model import Policy
from guardian.scoring.address import aimed_at_person
from guardian.scoring.grammar import plain
from guardian.scoring.language import detect, detect_in_town_many, primary_subtag
from guardian.scoring.level import (
    Judgement,
    clauses,
    decisive_words,
    judge,
    leave_one_out_variants,
    mask,
    withheld,
)
from guardian.scoring.normalise import has_insult_emoji, normalise
from guardian.scoring.rules import CompiledRules, Match, compile_rules
from guardian.scoring.signals import SignalModel, class_codes, shipped
from guardian.scoring.types import LanguageAwareModel, Model
from guardian.types import LabelScores


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    variant: str
    version: str


@dataclass(frozen=True)
class Assessment:
    labels: LabelScores
    level: Level
    reasons: tuple[str, ...]
    masked_text: str
    lang: str | None
    lang_confidence: float
    covered: bool
    scorer: ScorerInfo

    def as_json(self) -> dict[str, Any]:
        return {
            "labels": {k: round(v, 4) for k, v in self.labels.items()},
            "level": self.level,
            "reasons": list(self.reasons),
            "lang": self.lang,
            "lang_confidence": round(self.lang_confidence, 3),
            "covered": self.covered,
            "scorer": {"name": self.scorer.name, "variant": self.scorer.variant,
                       "version": self.scorer.version},
        }


@dataclass(frozen=True)
class AssessorSpec:
    """What an assessor takes from the policy, small enough to send to the scoring process
    with every batch; `version` changes when the policy does."""

    version: int
    harassment: HarassmentPolicy
    languages: tuple[str, ...]
    protected: tuple[str, ...]

    def build(self, model: Model, attributor: Model | None = None) -> Assessor:
        return Assessor(model=model, policy=self.harassment, languages=self.languages,
                        protected=self.protected, attributor=attributor)


# Small words of one language and not the other: two in a text mean it mixes them.
_OWN_WORDS: dict[str, frozenset[str]] = {
    "es": frozenset({"el", "los", "las", "del", "que", "y", "es", "está", "esta", "por", "con",
                     "para", "pero", "sigue", "eres", "sois", "una", "unos", "muy", "ya",
                     "tu", "tú", "mi", "porque", "también", "tambien", "hay", "nada",
                     "un", "soy", "estás", "estas", "qué", "como", "sin"}),
    "en": frozenset({"the", "is", "are", "and", "of", "you", "your", "you're", "it", "still",
                     "with", "this", "that", "what", "not", "please", "my", "we", "they",
                     "have", "has", "was", "were", "be", "been", "why", "who", "would",
                     "on", "at", "in", "for", "from", "i'm", "it's", "don't", "can't"}),
}
# One of these alone says a text speaks to someone in that language too ("@carmen_luz
# you're useless tía, la farola..."): the insult after it is in that language.
_ADDRESSING: dict[str, frozenset[str]] = {
    "es": frozenset({"eres", "sois", "tú", "estás", "vosotros"}),
    "en": frozenset({"you", "you're", "your", "ur", "youre"}),
}
_WORD = re.compile(r"[^\W\d_][\w']*")

# Below this many words, or this confidence, the language of a text is uncertain (py3langid
# tells Spanish from English right for 88% of 1-3-word comments, 98% of 4-6-word ones;
# docs/scoring.md): its emoji stand for the words of every town language.
SHORT_WORDS = 6
CONFIDENT = 0.9
def _rank(level: str) -> int:
    return ("none", "rude", "abusive", "threat").index(level)


# Labels that say a text is offensive, not at whom; and lexicon kinds that say at whom.
_GENERAL = frozenset({"toxicity", "severe_toxicity", "obscene"})
_AIMED_KINDS = frozenset({"insult", "identity_attack", "sexual_explicit", "threat",
                          "personal_data"})
# A clause of a hostile text scoring this much alone (for the text's strongest signal
# label) is masked with it.
CLAUSE_BAR = 0.5
# The writer's own errand, in the normalised text.
_ERRAND = re.compile(
    r"(?<!\w)(?:(?:for|about|with|to (?:get|collect|hand in|pick up)) (?:my|our) "
    r"(?:appointment|booking|form|forms|papers|paperwork|documents|fine|licen[cs]e|"
    r"certificate|permit|application|turn|slot)"
    r"|(?:para|por|con) (?:mi|la|nuestra) (?:cita|reserva|solicitud|instancia|multa|"
    r"licencia|tarjeta|certificado|padron|empadronamiento)"
    r"|para (?:entregar|recoger|presentar|firmar|sellar) (?:\w+ )?(?:los|las|el|la|mis|unos)"
    r")(?!\w)")
# Word classes (signals.class_codes) of harm, watching and the family.
_MENACE_CLASSES = frozenset("hwf")
# What sexual harassment is about, in the normalised text: bodies and looks, clothes and
# photos, beds and kisses, pet names, and the emoji that wink.
_SEXUAL_CUE = re.compile(
    r"(?<!\w)(?:guap[ao]s?|preciosa|bomb[oó]n|buen[ao]rr?[ao]|tia buena|rubia|morena|"
    r"cuerp\w*|culo|tetas|pechos?|piernas|labios|boca|besos?|besit\w*|desnud\w*|"
    # a photo of the person, not of the pothole ("os mando foto por privado")
    r"fotos? (?:tuyas?|de ti)|(?:mandame|pasame|enviame|mandas|pasas) (?:una |alguna )?foto|"
    r"(?:pics?|photos?|pictures?) of you|(?:send|show|give) me (?:a |some )?(?:pics?|photos?)|"
    r"uniforme|bikini|lencer\w*|cama|sofa|ducha|sexy|mami|nena|reina|cari[nñ]o|"
    r"morbo\w*|cachond\w*|caliente|pone[sn]?|excita\w*|chupa\w*|follar?|polvo|"
    r"body|bum|arse|ass|boobs|tits|legs|lips|kiss\w*|nudes?|naked|undress\w*|"
    r"wearing|uniform|bed|shower|sexy|hot|babe|baby|darling|sweetheart|gorgeous|love|"
    r"honey|doll|sugar|horny|turn\w* me on|spank\w*|examine|search me)(?!\w)"
    r"|[\U0001F60F\U0001F975\U0001F924\U0001F618\U0001F60D\U0001F346\U0001F351"
    r"\U0001F4A6\U0001F525\U0001F608\U0001F445\U0001F48B\U0001F609\U0001F63B]")
# Where a signal label that is not the text's strongest is held: under every threshold.
_BELOW = 0.49
# How sure py3langid must be that a long text is in a language the town does not speak.
FOREIGN = 0.97


@dataclass(frozen=True)
class Language:
    """What is known of a text's language: the one chosen (the scorer's model, the
    placeholders), how sure, and the languages whose lexicons and rules apply: that one
    when sure; every town language when not (short texts, mixed ones: "Eres un inútil
    mate, the lamp..."), so that a wrong guess never switches the rules off."""

    lang: str | None
    confidence: float
    rule_langs: tuple[str, ...]
    uncertain: bool


@dataclass
class Assessor:
    """Scores and judges texts with one model and one harassment policy."""

    model: Model
    policy: HarassmentPolicy = field(default_factory=HarassmentPolicy)
    # Languages the town expects (language detection chooses among these first).
    languages: Sequence[str] = ("es", "en")
    # Staff names and handles (normalised): a phone number next to one is personal data.
    protected: Sequence[str] = ()
    # Leave-one-word-out masking when no lexicon word explains an abusive verdict.
    attribution: bool = True
    # The model that finds those words: the scorer itself by default; a cheap one (the lite
    # model) for Detoxify, where rescoring every word would cost a forward pass each.
    attributor: Model | None = None
    # The town's signal model (threats, sexual harassment, attacks on groups put in words
    # no rule lists); None to run without it.
    signals: SignalModel | None = field(default_factory=shipped)
    # The signal model's labels that count (its insult label stays out: an insult must be
    # aimed at someone, which the lexicons and `address` decide, word by word).
    signal_labels: tuple[str, ...] = ("threat", "sexual_explicit", "identity_attack")

    def __post_init__(self) -> None:
        self._rules: CompiledRules = compile_rules(self.policy)
        self.info = ScorerInfo(self.model.name, self.model.variant, self.model.version)

    def _model_scores(self, texts: Sequence[str], langs: Sequence[str | None],
                      model: Model | None = None) -> list[LabelScores]:
        model = model or self.model
        if isinstance(model, LanguageAwareModel):
            return model.score_languages(texts, langs)
        return model.score(texts)

    def _without_literal_words(self, normalised: Sequence[Any], langs: Sequence[str | None],
                               matches: Sequence[Sequence[Match]],
                               scores: list[LabelScores]) -> list[LabelScores]:
        """The model's scores, taken again without the words that are used literally or as
        an exclamation ("hay ratas en el parque", "¡joder!") where the model found the
        text offensive: a model cannot tell "rata" the animal from "rata" the insult, and
        an oath aimed at no one makes a message rude, not abusive (the lexicon says so)."""
        thresholds = self.policy.thresholds
        todo: list[int] = []
        stripped: list[str] = []
        for index, (norm, found, score) in enumerate(zip(normalised, matches, scores,
                                                         strict=True)):
            literal = [m for m in found if m.kind == "literal"
                       or (m.kind == "obscene" and not m.aimed)]
            if literal and judge(score, [], thresholds).level != "none":
                text = norm.text
                for m in sorted(literal, key=lambda x: -x.start):
                    text = text[:m.start] + " " + text[m.end:]
                todo.append(index)
                stripped.append(text)
        if not todo:
            return scores
        again = self._model_scores(stripped, [langs[i] for i in todo])
        result = list(scores)
        for index, score in zip(todo, again, strict=True):
            result[index] = score
        return result

    def _attribute(self, texts: Sequence[str], langs: Sequence[str | None],
                   judged: Sequence[tuple[Judgement, list[tuple[int, int, str]], Any]]
                   ) -> dict[int, tuple[list[tuple[int, int, str]], str]]:
        """Spans the model's verdict rests on, for the texts whose lexicons and rules found
        nothing to mask: leave-one-word-out (all variants of the batch in one model call);
        for a rude text only the words aimed at a person ("eres un zopenco"), for an
        abusive one every decisive word; where no single word carries an abusive verdict,
        the sentences that do, so that the rest of the request stays readable."""
        todo: list[tuple[int, list[tuple[int, int]], int, int]] = []
        variants: list[str] = []
        variant_langs: list[str | None] = []
        for index, (judgement, spans, _) in enumerate(judged):
            if spans or judgement.level == "none":
                continue
            words, without = leave_one_out_variants(texts[index])
            if words and judgement.level == "rude":
                # Only a word aimed at a person can be masked in a rude text: the others
                # need not be rescored (most rude texts have none).
                text = plain(texts[index].lower())
                lang = langs[index] or "es"
                kept = [i for i, (a, b) in enumerate(words)
                        if aimed_at_person(text, a, b, lang, self.protected)]
                words, without = [words[i] for i in kept], [without[i] for i in kept]
            if words:
                todo.append((index, words, len(variants), len(without)))
                variants += without
                variant_langs += [langs[index]] * len(without)
        if not todo:
            return {}
        attributor = self.attributor or self.model
        originals = self._model_scores(
            [normalise(texts[index], lang=langs[index]).text for index, *_ in todo],
            [langs[index] for index, *_ in todo], attributor)
        scores = self._model_scores(
            [normalise(v, lang=lang).text for v, lang in zip(variants, variant_langs,
                                                              strict=True)], variant_langs,
            attributor)
        toxicity = [s["toxicity"] for s in scores]
        found: dict[int, tuple[list[tuple[int, int, str]], str]] = {}
        unexplained = []
        for (index, words, start, count), original in zip(todo, originals, strict=True):
            judgement = judged[index][0]
            hostile = judgement.level in ("abusive", "threat")
            decisive = decisive_words(words, original["toxicity"],
                                      toxicity[start:start + count])
            text = plain(texts[index].lower())  # one character for one
            if not hostile:
                # A rude text: only words aimed at a person are masked, not a complaint's.
                decisive = [(a, b) for a, b in decisive
                            if aimed_at_person(text, a, b, langs[index] or "es",
                                               self.protected)]
            if decisive:
                found[index] = ([(a, b, "insult") for a, b in decisive],
                                f"masked {len(decisive)} word(s) found by leaving each out")
            elif hostile:
                unexplained.append(index)
        found.update(self._sentences(texts, langs, judged, unexplained))
        return found

    def _sentences(self, texts: Sequence[str], langs: Sequence[str | None],
                   judged: Sequence[tuple[Judgement, Any, Any]], indexes: Sequence[int]
                   ) -> dict[int, tuple[list[tuple[int, int, str]], str]]:
        """For abusive texts no word explains: mask the sentences whose own score is
        abusive (or the worst one), when other sentences are left to read."""
        parts: list[tuple[int, list[tuple[int, int]]]] = []
        pieces: list[str] = []
        piece_langs: list[str | None] = []
        for index in indexes:
            found = clauses(texts[index])
            if len(found) > 1:
                parts.append((index, found))
                pieces += [texts[index][a:b] for a, b in found]
                piece_langs += [langs[index]] * len(found)
        if not parts:
            return {}
        scores = self._model_scores([normalise(p, lang=lang).text for p, lang in
                                     zip(pieces, piece_langs, strict=True)], piece_langs)
        threshold = self.policy.thresholds.abusive.get("toxicity", 0.8)
        result = {}
        cursor = 0
        for index, found in parts:
            values = [s["toxicity"] for s in scores[cursor:cursor + len(found)]]
            cursor += len(found)
            chosen = [span for span, value in zip(found, values, strict=True)
                      if value >= threshold] or [found[values.index(max(values))]]
            if len(chosen) < len(found):
                result[index] = ([(a, b, "insult") for a, b in chosen],
                                 f"masked {len(chosen)} of {len(found)} sentence(s): no "
                                 "single word carried the verdict")
        return result

    def _signals(self, normalised: Sequence[str]) -> list[dict[str, float]]:
        """The signal model's scores for each text ({} without a signal model)."""
        if self.signals is None:
            return [{} for _ in normalised]
        return self.signals.score(normalised)

    def _signal_verdict(self, scores: dict[str, float], matches: Sequence[Match],
                        text: str) -> dict[str, float]:
        """The signal labels that count for the level: one per text, the strongest of the
        signal model's and the rules' (its heads are trained apart and overlap: "te
        vienes conmigo a la cama" also scores as a threat; a rule that found sexual
        harassment or an attack on a group says which it is)."""
        wanted = {label: scores[label] for label in self.signal_labels if label in scores}
        if not wanted:
            return {}
        ruled = dict.fromkeys(wanted, 0.0)
        for match in matches:
            if match.rule is not None:
                for label, value in match.rule.raise_labels.items():
                    if label in ruled:
                        ruled[label] = max(ruled[label], value)
        top = max(wanted, key=lambda label: max(wanted[label], ruled[label]))
        if wanted[top] <= _BELOW:
            # Under every threshold whatever is decided below (and most texts are).
            return {label: min(value, _BELOW) for label, value in wanted.items()}
        if (top == "threat" and not ruled[top] and len(text.split()) < SHORT_WORDS
                and not _MENACE_CLASSES.intersection(class_codes(plain(text)))):
            # Too short to tell from its tone alone ("Town hall open Saturdays?"): a
            # threat of a few words says harm, watching or family in so many words.
            top = ""
        if top == "threat" and not ruled[top] and _ERRAND.search(text):
            # The writer's own errand ("I'll be waiting outside the office at nine for my
            # appointment"): waiting and coming round are what citizens do; only the
            # grammar (waiting *for you*, after *your* shift) makes it a threat.
            top = ""
        if top == "sexual_explicit" and not ruled[top] and not _SEXUAL_CUE.search(text):
            # Harassment of this kind says what it is about (a body, a photo, a bed, a pet
            # name, a wink): without any of it the model is reading a request to a woman
            # ("¿se puede reservar la sala pa yoga?") and is not heard.
            top = ""
        return {label: value if label == top else min(value, _BELOW)
                for label, value in wanted.items()}

    def _aimed(self, judgement: Judgement, matches: Sequence[Match],
               signal: dict[str, float]) -> bool:
        """Whether anything says an abusive verdict is aimed at someone: an insult, threat,
        attack on a group or sexual harassment found by the rules or lexicons, a label
        other than plain toxicity at the abusive threshold, or the signal model's insult
        head (it reads insults no lexicon lists, aimed at staff)."""
        if any(m.aimed and (m.rule is not None or m.kind in _AIMED_KINDS) for m in matches):
            return True
        without = {k: v for k, v in judgement.labels.items() if k not in _GENERAL}
        if judge(without, [], self.policy.thresholds).level in ("abusive", "threat"):
            return True
        return signal.get("insult", 0.0) >= 0.5

    def _signal_spans(self, texts: Sequence[str], langs: Sequence[str | None],
                      judged: Sequence[tuple[Judgement, list[tuple[int, int, str]], Any]],
                      signalled: Sequence[dict[str, float]]
                      ) -> dict[int, tuple[list[tuple[int, int, str]], str]]:
        """The clauses of a hostile text (abusive or threat) that the signal model finds
        hostile: one scoring CLAUSE_BAR alone, or whose removal brings the text under its
        threshold; when the rules found nothing to mask, at least the clause whose removal
        lowers the score most. A threat is rarely one phrase ("Nice van. Be a shame if
        someone put sugar in the tank one night"): masking only what a rule matched would
        leave the rest of it to read. The request's clauses stay."""
        if self.signals is None:
            return {}
        thresholds = self.policy.thresholds
        todo: list[tuple[int, str, list[tuple[int, int]], float, bool]] = []
        pieces: list[str] = []
        for index, ((judgement, spans, _), signal) in enumerate(zip(judged, signalled,
                                                                     strict=True)):
            if judgement.level not in ("abusive", "threat") or not signal:
                continue
            label = max(signal, key=signal.__getitem__)
            if signal[label] < CLAUSE_BAR:
                continue
            found = clauses(texts[index])
            if len(found) < 2 and spans:
                continue  # one clause, already masked by the rules
            threshold = min((t.get(label, 2.0) for t in (thresholds.abusive,
                                                          thresholds.threat)), default=2.0)
            todo.append((index, label, found, threshold, bool(spans)))
            for start, end in found:
                pieces.append(texts[index][start:end])
                pieces.append(texts[index][:start] + " " + texts[index][end:])
        if not todo:
            return {}
        scores = self.signals.score([normalise(p).text for p in pieces])
        result: dict[int, tuple[list[tuple[int, int, str]], str]] = {}
        cursor = 0
        for index, label, found, threshold, ruled in todo:
            alone = [scores[cursor + 2 * i][label] for i in range(len(found))]
            without = [scores[cursor + 2 * i + 1][label] for i in range(len(found))]
            cursor += 2 * len(found)
            chosen = [span for span, a, w in zip(found, alone, without, strict=True)
                      if a >= CLAUSE_BAR or w < threshold]
            if not chosen and found and not ruled:
                chosen = [found[without.index(min(without))]]
            if chosen:
                result[index] = ([(a, b, label) for a, b in chosen],
                                 f"masked {len(chosen)} of {len(found)} clause(s) the "
                                 f"signal model finds hostile ({label})")
        return result

    def language_of(self, normalised: str, hint: str | None) -> Language:
        """The language among the town's (a source's hint wins): detected on the
        normalised text; for a short text or an unsure guess, every town language's
        lexicons and rules apply."""
        return self.languages_of([normalised], [hint])[0]

    def languages_of(self, normalised: Sequence[str], hints: Sequence[str | None]
                     ) -> list[Language]:
        """`language_of` for each text, the detections of a batch made at once."""
        town = tuple(self.languages)
        longs = [len(text.split()) >= SHORT_WORDS for text in normalised]
        batch = [i for i, hint in enumerate(hints) if hint is None and town]
        # A long text is also told among the neighbours' languages: a foreign one (French
        # in a Spanish town) is said so, its scores are unreliable.
        detected = dict(zip(batch, detect_in_town_many([normalised[i] for i in batch], town,
                                                        wider=[longs[i] for i in batch]),
                            strict=True))
        found_langs = []
        for index, (text, hint, long) in enumerate(zip(normalised, hints, longs,
                                                       strict=True)):
            if index not in detected:
                found = detect(text, candidates=town or None, hint=hint)
            else:
                wide, found = detected[index]
                if (long and wide.lang is not None and wide.lang not in town
                        and wide.confidence >= FOREIGN):
                    found = wide
            lang = found.lang or (town[0] if town else None)
            sure = (hint is not None and found.lang is not None) or (
                found.lang is not None and found.confidence >= CONFIDENT and long
                and not self._mixed(text, found.lang, town))
            rule_langs = ((lang,) if sure and lang else
                          tuple(dict.fromkeys((*([lang] if lang else []), *town))))
            found_langs.append(Language(lang, found.confidence, rule_langs,
                                        uncertain=not sure))
        return found_langs

    @staticmethod
    def _mixed(text: str, lang: str, town: tuple[str, ...]) -> bool:
        """Whether `text` also reads as another town language ("Eres un inútil mate, the
        lamp on calle Nueva still not working"): two or more of that language's own small
        words in it (a detection per clause would cost three times as much)."""
        words = set(_WORD.findall(text))
        return any(len(words & _OWN_WORDS.get(other, frozenset())) >= 2
                   or words & _ADDRESSING.get(other, frozenset())
                   for other in town if other != lang)

    def assess(self, texts: Sequence[str], hints: Sequence[str | None] | None = None
               ) -> list[Assessment]:
        hints = hints if hints is not None else [None] * len(texts)
        first = [normalise(text, lang=primary_subtag(hint)) for text, hint in
                 zip(texts, hints, strict=True)]
        detected = self.languages_of([n.text for n in first], hints)
        langs = [d.lang for d in detected]
        # Emoji become words of the chosen language; an uncertain text keeps every
        # language's words ("🐷" -> "cerdo pig"), so any town lexicon can match.
        normalised = [n if d.uncertain or primary_subtag(hint) == d.lang
                      or not has_insult_emoji(text) else normalise(text, lang=d.lang)
                      for text, hint, n, d in zip(texts, hints, first, detected, strict=True)]
        # A text of uncertain language is scored as one of no known language (the lite
        # scorer takes the higher of its English and Spanish models).
        model_langs = [None if d.uncertain else d.lang for d in detected]
        scores = self._model_scores([n.text for n in normalised], model_langs)
        signalled = self._signals([n.text for n in normalised])
        found_matches = [self._rules.match(norm.text, langs=found.rule_langs,
                                           protected=self.protected)
                         for found, norm in zip(detected, normalised, strict=True)]
        raw_scores = scores
        scores = self._without_literal_words(normalised, model_langs, found_matches, scores)
        judged: list[tuple[Judgement, list[tuple[int, int, str]], Any]] = []
        by_model: list[tuple[Judgement, list[tuple[int, int, str]], Any]] = []
        verdicts: list[dict[str, float]] = []
        for norm, every, model_scores, raw, signal in zip(normalised, found_matches, scores,
                                                           raw_scores, signalled, strict=True):
            matches = [m for m in every if m.kind != "literal"]
            verdict = self._signal_verdict(signal, matches, norm.text)
            merged = {**model_scores, **{label: max(model_scores.get(label, 0.0), value)
                                         for label, value in verdict.items()}}
            judgement = judge(merged, matches, self.policy.thresholds)
            if judgement.level == "abusive" and not self._aimed(judgement, matches, signal):
                # Offensive words aimed at no one ("the bins are a f*cking disgrace"): the
                # general model's verdict makes the message rude, not abusive.
                judgement = Judgement(judgement.labels, "rude", (
                    *judgement.reasons, "offensive, but aimed at no one (no insult, threat, "
                    "attack on a group or harassment found): rude"))
            if raw is not model_scores:
                # The level was judged without the words used literally; the labels keep
                # what the model said of the whole text (what `guardian eval` measures).
                judgement = Judgement(
                    {k: max(v, float(raw.get(k, 0.0))) for k, v in judgement.labels.items()},
                    judgement.level, (*judgement.reasons, "level judged on the model's "
                                      "scores without the words used literally or as an "
                                      "exclamation"))
            hostile = judgement.level in ("abusive", "threat")
            # A swear word aimed at no one is shown as written in a rude message; in an
            # abusive one it is masked with the rest. A threat is masked to the end of its
            # sentence ("...y [amenaza]"), sexual harassment with the pet name that ends
            # it ("[acoso]" for "te daba un buen repaso, guapa").
            spans = [(*norm.original_span(m.start, _span_end(norm.text, m)), m.kind)
                     for m in matches
                     if (m.rule is None or m.rule.mask) and (m.aimed or hostile)]
            judged.append((judgement, spans, norm))
            verdicts.append(verdict)
            # Leave-one-out attribution explains the scorer's own verdict, not the rules'
            # or the signal model's (those point at their spans themselves).
            alone = judge(model_scores, [], self.policy.thresholds)
            if _rank(alone.level) > _rank(judgement.level):
                # The scorer's verdict was corrected (aimed at no one): explain the level
                # the message has, not the scorer's.
                alone = Judgement(alone.labels, judgement.level, alone.reasons)
            by_model.append((alone, spans, norm))
        attributed = self._attribute(texts, langs, by_model) if self.attribution else {}
        for index, (clause_spans, why) in self._signal_spans(texts, langs, judged,
                                                             verdicts).items():
            earlier, how = attributed.get(index, ([], ""))
            attributed[index] = ([*earlier, *clause_spans],
                                 "; ".join(x for x in (how, why) if x))
        results = []
        for index, (text, found, (judgement, spans, _)) in enumerate(
                zip(texts, detected, judged, strict=True)):
            lang = found.lang
            reasons = list(judgement.reasons)
            if found.uncertain:
                reasons.append(f"language {lang or 'unknown'} uncertain (short or mixed "
                               "text)")
            if index in attributed:
                extra, how = attributed[index]
                spans = [*spans, *extra]
                reasons.append(how)
            masked = mask(text, spans, lang)
            if judgement.level in ("abusive", "threat") and not spans:
                # Nothing to point at: staff must still never see the raw text.
                masked = withheld(lang)
                reasons.append("no abusive words could be singled out: the whole text is "
                               "withheld from staff")
            covered = lang is None or lang in self.model.languages
            if not covered:
                reasons.append(f"language {lang} is not covered by the {self.model.name} "
                               "scorer: scores are unreliable")
            results.append(Assessment(
                labels=judgement.labels, level=judgement.level, reasons=tuple(reasons),
                masked_text=masked, lang=lang,
                lang_confidence=found.confidence, covered=covered, scorer=self.info,
            ))
        return results


# The end of a sentence, before any trailing @mentions ("... te pillo @antonio_luz").
_SENTENCE_END = re.compile(r"[.!?\n]|(?:\s+@\w+)+\s*$")
_PET_NAME = re.compile(
    r"^(?:\s+(?:any\s?time|whenever|cuando\s+quieras|ya|eh|pues))?\s*,?\s*"
    r"(?:guapa|guapo|preciosa|precioso|bombon|bombón|nena|nene|cariño|carino|"
    r"reina|princesa|muñeca|muneca|chata|rubia|morena|mami|sexy|babe|baby|darling|"
    r"sweetheart|sweetie|gorgeous|hottie|honey|hun|love|doll)\b")


def _span_end(text: str, match: Match) -> int:
    if match.rule is not None and match.kind == "threat":
        found = _SENTENCE_END.search(text, match.end)
        return found.start() if found else len(text)
    if match.kind == "sexual_explicit":
        pet = _PET_NAME.match(text[match.end:])
        return match.end + pet.end() if pet else match.end
    return match.end


def protected_names(policy: Policy | None) -> list[str]:
    """Staff names and handles as they appear in normalised text."""
    if policy is None:
        return []
    names: list[str] = []
    for member in policy.staff:
        names.append(member.name.casefold())
        names.extend(h.casefold().lstrip("@").split("@")[0] for h in member.handles.values())
    return [n for n in names if len(n) >= 3]


def spec_for(policy: Policy | None, version: int = 0) -> AssessorSpec:
    """What the assessor takes from `policy` (the defaults without one)."""
    return AssessorSpec(
        version=version,
        harassment=policy.harassment if policy is not None else HarassmentPolicy(),
        languages=tuple(policy.town.languages) if policy is not None else ("es", "en"),
        protected=tuple(protected_names(policy)))


def assessor_for(model: Model, policy: Policy | None, attributor: Model | None = None
                 ) -> Assessor:
    return spec_for(policy).build(model, attributor)
