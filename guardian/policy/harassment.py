"""The harassment part of HR's policy: thresholds, lexicons and rules. Pure."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from guardian.types import LABELS

Level = Literal["none", "rude", "abusive", "threat"]
LEVELS: tuple[Level, ...] = ("none", "rude", "abusive", "threat")
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _labels(values: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(values) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; use: {', '.join(LABELS)}")
    return values


LabelMap = Annotated[dict[str, Probability], AfterValidator(_labels)]


def valid_regex(pattern: str) -> str:
    """`pattern` itself, or a ValueError HR can act on (rules and routing patterns)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None
    return pattern


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """A message reaches a level when any label reaches that level's threshold.

    The defaults follow Detoxify's calibration (0.5 is its decision point) and are stricter
    for labels whose false positives hurt most (identity attacks, threats).
    """

    rude: LabelMap = Field(default_factory=lambda: {
        "toxicity": 0.5, "obscene": 0.5, "insult": 0.45})
    abusive: LabelMap = Field(default_factory=lambda: {
        "toxicity": 0.8, "severe_toxicity": 0.3, "insult": 0.7, "identity_attack": 0.5,
        "sexual_explicit": 0.6})
    threat: LabelMap = Field(default_factory=lambda: {"threat": 0.5})


class Rule(_Strict):
    """A pattern that, when it matches the normalised text, raises labels or sets a level."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    lang: str = Field(default="any", description="ISO 639-1 code, or `any`.")
    pattern: Annotated[str, AfterValidator(valid_regex)] | None = None
    detector: Literal["id_number", "phone_number", "home_address", "email"] | None = None
    raise_labels: LabelMap = Field(default_factory=dict, alias="raise")
    level: Level | None = None
    mask: bool = True
    description: str = ""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_matcher(self) -> Rule:
        if (self.pattern is None) == (self.detector is None):
            raise ValueError("a rule needs exactly one of `pattern` or `detector`")
        if not self.raise_labels and self.level is None:
            raise ValueError("a rule must `raise` a label or set a `level`")
        return self


class HarassmentPolicy(_Strict):
    thresholds: Thresholds = Field(default_factory=Thresholds)
    # Extra words per language and label, added to the built-in lexicon.
    lexicons: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    # Extra rules, added to the built-in ones (same id replaces a built-in rule).
    rules: list[Rule] = Field(default_factory=list)
    use_builtin_rules: bool = True
