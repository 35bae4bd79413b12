"""Assessment of texts: language, normalisation, model, lexicons and rules, level, mask.

`Assessor.assess` is synchronous and CPU-bound: the pipeline runs it in an executor so the
event loop never blocks. It reads no clock and does no I/O beyond the model it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from guardian.policy.harassment import HarassmentPolicy, Level
from guardian.policy.model import Policy
from guardian.scoring.language import detect
from guardian.scoring.level import (
    Judgement,
    decisive_words,
    judge,
    leave_one_out_variants,
    mask,
    withheld,
)
from guardian.scoring.normalise import normalise
from guardian.scoring.rules import CompiledRules, compile_rules
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

    def __post_init__(self) -> None:
        self._rules: CompiledRules = compile_rules(self.policy)
        self.info = ScorerInfo(self.model.name, self.model.variant, self.model.version)

    def _model_scores(self, texts: Sequence[str], langs: Sequence[str | None],
                      model: Model | None = None) -> list[LabelScores]:
        model = model or self.model
        if isinstance(model, LanguageAwareModel):
            return model.score_languages(texts, langs)
        return model.score(texts)

    def _attribute(self, texts: Sequence[str], langs: Sequence[str | None],
                   judged: Sequence[tuple[Judgement, list[tuple[int, int, str]]]]
                   ) -> dict[int, list[tuple[int, int]]]:
        """Leave-one-word-out for every abusive text that no lexicon word or rule explains,
        all variants of the batch scored in one model call."""
        todo: list[tuple[int, list[tuple[int, int]], int, int]] = []
        variants: list[str] = []
        variant_langs: list[str | None] = []
        for index, (judgement, spans) in enumerate(judged):
            if spans or judgement.level not in ("abusive", "threat"):
                continue
            words, without = leave_one_out_variants(texts[index])
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
        found = {}
        for (index, words, start, count), original in zip(todo, originals, strict=True):
            base = original["toxicity"]
            decisive = decisive_words(words, base, toxicity[start:start + count])
            if decisive:
                found[index] = decisive
        return found

    def assess(self, texts: Sequence[str], hints: Sequence[str | None] | None = None
               ) -> list[Assessment]:
        hints = hints if hints is not None else [None] * len(texts)
        detected = [detect(text, candidates=None, hint=hint) for text, hint in
                    zip(texts, hints, strict=True)]
        langs = [d.lang for d in detected]
        normalised = [normalise(text, lang=lang) for text, lang in
                      zip(texts, langs, strict=True)]
        scores = self._model_scores([n.text for n in normalised], langs)
        judged = []
        for found, norm, model_scores in zip(detected, normalised, scores, strict=True):
            matches = self._rules.match(norm.text, lang=found.lang, protected=self.protected)
            judgement = judge(model_scores, matches, self.policy.thresholds)
            spans = [(*norm.original_span(m.start, m.end), m.kind) for m in matches
                     if m.rule is None or m.rule.mask]
            judged.append((judgement, spans))
        attributed = self._attribute(texts, langs, judged) if self.attribution else {}
        results = []
        for index, (text, found, (judgement, spans)) in enumerate(
                zip(texts, detected, judged, strict=True)):
            lang = found.lang
            reasons = list(judgement.reasons)
            if index in attributed:
                spans = [(start, end, "insult") for start, end in attributed[index]]
                reasons.append(f"masked {len(spans)} word(s) found by leaving each out")
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
