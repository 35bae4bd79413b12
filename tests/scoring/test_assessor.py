"""The lite scorer end to end: language, normalisation, model, rules, level and mask."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from guardian.policy.harassment import HarassmentPolicy
from guardian.scoring.assessor import Assessor
from guardian.scoring.lite import LiteModel
from guardian.types import LABELS, LabelScores


@pytest.fixture(scope="module")
def assessor() -> Assessor:
    return Assessor(model=LiteModel(), policy=HarassmentPolicy(), protected=("antonio",))


def test_a_polite_request_is_left_alone(assessor: Assessor) -> None:
    [result] = assessor.assess(["¿Podéis arreglar la farola de la calle Real? Gracias"])
    assert result.level == "none"
    assert result.lang == "es" and result.covered
    assert result.masked_text == "¿Podéis arreglar la farola de la calle Real? Gracias"
    assert result.scorer.name == "lite" and "lite-es" in result.scorer.version


def test_an_insulting_request_is_masked_but_stays_readable(assessor: Assessor) -> None:
    [result] = assessor.assess(["Sois unos inútiles, la farola de la calle Real sigue rota"])
    assert result.level == "abusive"
    assert result.masked_text == "Sois unos [insulto], la farola de la calle Real sigue rota"
    assert any("lexicon:es:insult" in r for r in result.reasons)


@pytest.mark.parametrize("text", ["You are an 1d10t, fix the street lamp",
                                  "You are an i.d.i.o.t, fix the street lamp",
                                  "You are an idiooooot, fix the street lamp",
                                  "You are an i\u200bdiot, fix the street lamp"])
def test_obfuscated_insults_are_found_and_masked_in_the_original(assessor: Assessor,
                                                                 text: str) -> None:
    [result] = assessor.assess([text], ["en"])
    assert result.level == "abusive"
    assert result.masked_text == "You are an [insult], fix the street lamp"


def test_a_threat_with_personal_data_is_a_threat(assessor: Assessor) -> None:
    [result] = assessor.assess(["Sé dónde vives, el móvil de Antonio es 612 345 678"])
    assert result.level == "threat"
    assert "612 345 678" not in result.masked_text
    assert result.labels["threat"] >= 0.9


def test_a_language_the_scorer_does_not_cover_is_reported(assessor: Assessor) -> None:
    [result] = assessor.assess(["Bonjour, le lampadaire de la rue principale ne marche plus"])
    assert result.lang == "fr" and not result.covered
    assert any("not covered" in r for r in result.reasons)


def test_batched_and_one_by_one_scoring_agree(assessor: Assessor) -> None:
    texts = ["La basura no se ha recogido", "Eres un payaso", "Book the hall for Friday",
             "you stupid clown", "Quiero una cita con el médico"]
    together = assessor.assess(texts)
    alone = [assessor.assess([t])[0] for t in texts]
    assert [r.level for r in together] == [r.level for r in alone]
    for a, b in zip(together, alone, strict=True):
        assert a.labels == pytest.approx(b.labels, abs=1e-9)
        assert a.masked_text == b.masked_text


def test_the_model_separates_offensive_from_harmless_spanish(assessor: Assessor) -> None:
    harmless, offensive = assessor.assess(
        ["Mañana hay pleno municipal a las diez", "Eres una vergüenza, das asco, lárgate"])
    assert offensive.labels["toxicity"] > harmless.labels["toxicity"]


class _Verdict:
    """A model that finds everything an abusive insult, whatever the words (as a model
    may)."""

    name, variant, version = "verdict", "test", "0"
    languages = frozenset({"es", "en"})

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        return [{**dict.fromkeys(LABELS, 0.0), "toxicity": 0.95, "insult": 0.9}
                for _ in texts]


def test_an_abusive_text_with_nothing_to_point_at_is_withheld_whole() -> None:
    # Without the signal model: this is about the scorer's verdict alone.
    assessor = Assessor(model=_Verdict(), signals=None)
    [result] = assessor.assess(["Qué bonito día hace hoy en el pueblo"], ["es"])
    assert result.level == "abusive"
    assert "bonito" not in result.masked_text
    assert result.masked_text == "[mensaje ofensivo retenido; lo revisa moderación]"


class _ObjectsTo:
    """A cheap model that objects to one (invented) word no lexicon lists."""

    name, variant, version = "objects-to", "test", "0"
    languages = frozenset({"es", "en"})

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        return [{**dict.fromkeys(LABELS, 0.0), "toxicity": 0.95 if "blorf" in t else 0.05}
                for t in texts]


def test_a_cheap_attributor_finds_the_words_a_big_model_objects_to() -> None:
    assessor = Assessor(model=_Verdict(), attributor=_ObjectsTo(), signals=None)
    # "blorf" is in no lexicon: only the attributor can find it.
    [result] = assessor.assess(["You complete blorf, the street lamp is broken again"],
                               ["en"])
    assert result.level == "abusive"
    assert "blorf" not in result.masked_text
    assert any("leaving each out" in r for r in result.reasons)
    assert result.masked_text.endswith("the street lamp is broken again")


class _Offended:
    """A model that finds every text offensive, and none of them an insult (a general
    offensive-language model)."""

    name, variant, version = "offended", "test", "0"
    languages = frozenset({"es", "en"})

    def score(self, texts: Sequence[str]) -> list[LabelScores]:
        return [{**dict.fromkeys(LABELS, 0.0), "toxicity": 0.95} for _ in texts]


def test_offence_aimed_at_no_one_is_rude_and_aimed_at_staff_is_abusive() -> None:
    assessor = Assessor(model=_Offended(), signals=None)
    at_no_one, at_staff = assessor.assess(
        ["The bins on calle Real are a disgrace, they stink all week",
         "@jose_limpieza you useless clown, the bins on calle Real stink"], ["en", "en"])
    assert at_no_one.level == "rude"
    assert at_no_one.masked_text == "The bins on calle Real are a disgrace, they stink all week"
    assert any("aimed at no one" in reason for reason in at_no_one.reasons)
    assert at_staff.level == "abusive"
    assert at_staff.masked_text == "@jose_limpieza you [insult], the bins on calle Real stink"
