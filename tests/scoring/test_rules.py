"""Lexicons, rules, levels and masking (pure; texts are already normalised here)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from guardian.policy.harassment import HarassmentPolicy, Rule, Thresholds
from guardian.scoring.level import judge, leave_one_out, mask
from guardian.scoring.rules import compile_rules, valid_id_number
from guardian.types import LABELS

DEFAULT = compile_rules(HarassmentPolicy())
ZERO = dict.fromkeys(LABELS, 0.0)


def _assess(text: str, lang: str | None = "es", protected: tuple[str, ...] = (),
            policy: HarassmentPolicy | None = None) -> tuple[str, str, tuple[str, ...]]:
    rules = compile_rules(policy) if policy else DEFAULT
    matches = rules.match(text, langs=None if lang is None else (lang,), protected=protected)
    verdict = judge(ZERO, matches, (policy or HarassmentPolicy()).thresholds)
    masked = mask(text, [(m.start, m.end, m.kind) for m in matches
                         if m.rule is None or m.rule.mask], lang)
    return verdict.level, masked, verdict.reasons


@pytest.mark.parametrize(("text", "lang", "rule"), [
    ("como sigas así te voy a matar", "es", "es.threat.kill"),
    ("sé dónde vives, ten cuidado", "es", "es.threat.where-you-live"),
    ("ya te pillaré a la salida", "es", "es.threat.wait"),
    ("i know where you live", "en", "en.threat.where-you-live"),
    ("i'm going to hurt you", "en", "en.threat.kill"),
])
def test_threats_set_the_threat_level_and_name_their_rule(text: str, lang: str,
                                                          rule: str) -> None:
    level, masked, reasons = _assess(text, lang)
    assert level == "threat"
    assert any(rule in r for r in reasons), reasons
    assert "[amenaza]" in masked or "[threat]" in masked


def test_an_insult_is_abusive_and_masked_while_the_request_stays_readable() -> None:
    level, masked, reasons = _assess("la farola sigue rota, sois unos inútiles y unos payasos")
    assert level == "abusive"
    # The lexicon lists singulars; plurals match too.
    assert masked == "la farola sigue rota, sois unos [insulto] y unos [insulto]"
    assert any("lexicon:es:insult" in r for r in reasons)


def test_swearing_alone_is_rude_not_abusive() -> None:
    level, masked, _ = _assess("joder, otra vez sin luz en la calle")
    assert level == "rude"
    assert masked == "[grosería], otra vez sin luz en la calle"


def test_words_inside_other_words_do_not_match() -> None:
    assert _assess("el barco pirata del parque está roto")[0] == "none"
    assert _assess("ratatouille for the school lunch", "en")[0] == "none"
    assert _assess("the water rates went up again", "en")[0] == "none"


def test_id_numbers_with_a_valid_check_letter_are_personal_data() -> None:
    assert valid_id_number("", "12345678", "z")
    assert not valid_id_number("", "12345678", "a")
    assert valid_id_number("x", "1234567", "l")
    level, masked, _ = _assess("el dni del policía es 12345678z")
    assert level == "threat"
    assert masked == "el dni del policía es [dato personal]"
    assert _assess("mi pedido es el 12345678a")[0] == "none"


def test_a_phone_number_is_personal_data_only_next_to_a_person() -> None:
    assert (_assess("su móvil es 612 345 678, llamadle")[1]
            == "su móvil es [dato personal], llamadle")
    assert _assess("llamad al +34 612 34 56 78 que es su móvil")[0] == "threat"
    assert _assess("el 612 345 678 de antonio", protected=("antonio",))[0] == "threat"
    assert _assess("para citas llame al 612345678")[0] == "none"
    assert _assess("la oficina atiende en el 958 123 456")[0] == "none"


def test_a_home_address_attributed_to_someone_is_personal_data() -> None:
    level, masked, _ = _assess("la concejala vive en la calle mayor 12, id a verla")
    assert level == "threat"
    assert "[dato personal]" in masked and "calle mayor 12" not in masked
    assert _assess("la farola de la calle mayor 12 no funciona")[0] == "none"


def test_sexual_harassment_is_abusive() -> None:
    assert _assess("send me nudes", "en")[0] == "abusive"


def test_rules_of_another_language_do_not_apply() -> None:
    assert _assess("te voy a matar", "en")[0] == "none"
    # Unknown language: every rule and lexicon applies.
    assert _assess("te voy a matar", None)[0] == "threat"


def test_policy_adds_words_and_rules_and_replaces_builtins() -> None:
    policy = HarassmentPolicy.model_validate({
        "lexicons": {"es": {"insult": ["zoquete"]}},
        "rules": [
            {"id": "es.threat.kill", "lang": "es", "pattern": r"\bte voy a matar\b",
             "raise": {"threat": 0.6}, "description": "softer"},
            {"id": "es.local.spam", "lang": "es", "pattern": r"compra bitcoins", "level": "rude",
             "mask": False},
        ],
        "thresholds": {"threat": {"threat": 0.7}},
    })
    assert _assess("eres un zoquete", policy=policy)[0] == "abusive"
    level, _, reasons = _assess("te voy a matar", policy=policy)
    assert level == "none" and any("softer" in r for r in reasons)
    level, masked, _ = _assess("compra bitcoins ya", policy=policy)
    assert level == "rude" and masked == "compra bitcoins ya"
    no_builtins = HarassmentPolicy(use_builtin_rules=False)
    assert _assess("sé dónde vives", policy=no_builtins)[0] == "none"


def test_policy_rules_are_validated() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        Rule.model_validate({"id": "x", "level": "rude"})
    with pytest.raises(ValidationError, match="regular expression"):
        Rule.model_validate({"id": "x", "pattern": "(unclosed", "level": "rude"})
    with pytest.raises(ValidationError, match="unknown label"):
        Thresholds.model_validate({"rude": {"toxicty": 0.5}})


def test_levels_follow_the_thresholds() -> None:
    thresholds = Thresholds()
    assert judge({**ZERO, "toxicity": 0.49}, [], thresholds).level == "none"
    assert judge({**ZERO, "toxicity": 0.5}, [], thresholds).level == "rude"
    assert judge({**ZERO, "toxicity": 0.8}, [], thresholds).level == "abusive"
    assert judge({**ZERO, "identity_attack": 0.55}, [], thresholds).level == "abusive"
    verdict = judge({**ZERO, "toxicity": 0.9, "threat": 0.51}, [], thresholds)
    assert verdict.level == "threat"
    assert "threat 0.51 ≥ threat threshold 0.50" in verdict.reasons


def test_mask_merges_overlapping_spans_and_speaks_the_language() -> None:
    assert mask("abc def ghi", [(4, 7, "insult"), (5, 11, "obscene")], "en") == "abc [insult]"
    assert mask("abc def", [], "es") == "abc def"
    assert mask("abc def", [(0, 3, "threat")], None) == "[amenaza] def"


def test_leave_one_out_finds_the_word_that_carries_the_verdict() -> None:
    text = "please fix the lamp you muppet"

    def toxicity(variants: list[str]) -> list[float]:
        return [0.9 if "muppet" in v else 0.1 for v in variants]

    assert leave_one_out(text, toxicity) == [(24, 30)]
    assert leave_one_out(text, lambda vs: [0.9] * len(vs)) == []
