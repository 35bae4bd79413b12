"""The shield message by message: threats of every kind in both languages, words aimed at a
person or naming a thing, the town's languages, and masking that keeps the request.

Mild, invented messages; none is in tests/data/town_messages.jsonl or in the training
data of the signal model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.policy.harassment import HarassmentPolicy
from guardian.scoring.assessor import Assessor
from guardian.scoring.lite import LiteModel
from guardian.scoring.normalise import normalise
from guardian.scoring.obfuscate import obfuscate
from guardian.scoring.rules import compile_rules

GRAMMAR = compile_rules(HarassmentPolicy())
SHIELD = Assessor(model=LiteModel(), protected=("carmen_luz", "antonio_luz", "antonio"))
DATA = Path(__file__).resolve().parents[1] / "data" / "town_messages.jsonl"


def _rules_found(text: str, lang: str) -> set[str]:
    norm = normalise(text).text
    return {m.rule.id for m in GRAMMAR.match(norm, langs=(lang,)) if m.rule is not None}


@pytest.mark.parametrize(("text", "lang", "family"), [
    # Harm, in the periphrastic future, the present, the synthetic future, the imperative.
    ("Como no me quites la multa te voy a partir las piernas", "es", "es.threat.kill"),
    ("Vuelve a multarme y te reviento", "es", "es.threat.kill"),
    ("Te mataré como sigas sin contestar", "es", "es.threat.kill"),
    ("Keep ignoring me and I'm going to break your legs", "en", "en.threat.kill"),
    # Lying in wait.
    ("Te voy a esperar a la salida del ayuntamiento", "es", "es.threat.wait"),
    ("Ya te pillaré cuando salgas del trabajo", "es", "es.threat.wait"),
    ("I'll be waiting for you after work, in the car park", "en", "en.threat.wait"),
    # Knowing where someone lives.
    ("Sé dónde vives, así que arregla la farola", "es", "es.threat.where-you-live"),
    ("I know where you live, sort the bins out", "en", "en.threat.where-you-live"),
    # Family.
    ("Ten cuidado con tus hijos a la salida del colegio", "es", "es.threat.family"),
    # Property and buildings.
    ("Le voy a pegar fuego al ayuntamiento como no arregléis esto", "es",
     "es.threat.property"),
    ("I'll burn your car if the fine is not cancelled", "en", "en.threat.property"),
    # Calls on others.
    ("A ver si alguien le da una paliza al de la grúa", "es", "es.threat.incite"),
    ("Someone should beat that officer up", "en", "en.threat.incite"),
    # Veiled.
    ("Ya verás lo que te pasa como no me des la cita", "es", "es.threat.veiled"),
])
def test_the_grammar_knows_each_kind_of_threat(text: str, lang: str, family: str) -> None:
    found = _rules_found(text, lang)
    assert any(rule.startswith(family) for rule in found), found
    [result] = SHIELD.assess([text])
    assert result.level == "threat"
    assert "[amenaza]" in result.masked_text or "[threat]" in result.masked_text


@pytest.mark.parametrize(("text", "lang"), [
    ("Te espero en la oficina a las nueve para entregarte los papeles", "es"),
    ("Voy a matar el tiempo en la biblioteca hasta que abráis", "es"),
    ("Mañana paso a recoger a mis hijos a la salida del colegio", "es"),
    ("I'll be waiting outside the office at nine for my appointment", "en"),
    ("This heat is killing me, can the park fountains be switched on?", "en"),
    ("Hay un incendio en el monte detrás del polideportivo", "es"),
])
def test_ordinary_messages_with_threatening_words_are_not_threats(text: str,
                                                                  lang: str) -> None:
    assert not {r for r in _rules_found(text, lang) if ".threat." in r}
    [result] = SHIELD.assess([text])
    assert result.level in ("none", "rude")
    assert result.masked_text == text


# Plain reports of a broken thing in a place, the commonest message a town hall gets, in
# words none of the signal model's training lines use (training/signals/make_reports.py
# has other things, places and states). The shipped model before the fix held 27% of such
# reports as abusive or threats (docs/scoring.md); the cases are a sample of that probe.
@pytest.mark.parametrize("text", [
    "La farola de la calle Real no funciona",
    "La farola de la calle Mayor no funciona",
    "La cabina de la calle San Juan no funciona",
    "El parquímetro cerca de la guardería no va",
    "Los aspersores del gimnasio municipal se han caído",
    "Las jardineras de la plazoleta están rotas desde anteayer",
    "El columpio de la plaza del Ayuntamiento no va",
    "Los bancos junto al colegio no funcionan otra vez",
    "La estatua de la residencia se ha caído, avisad a quien toque",
    "El toldo del aparcamiento está roto de nuevo",
])
def test_plain_street_reports_are_not_abuse(text: str) -> None:
    [result] = SHIELD.assess([text])
    assert result.level == "none", result.reasons
    assert result.masked_text == text


@pytest.mark.parametrize(("text", "level", "masked"), [
    ("Hay ratas en el parque infantil de la calle Olmo", "none",
     "Hay ratas en el parque infantil de la calle Olmo"),
    ("Sois unas ratas, arreglad el parque de la calle Olmo", "abusive",
     "Sois unas [insulto], arreglad el parque de la calle Olmo"),
    ("Un burro suelto en el camino de la Vega, ¿quién lo recoge?", "none",
     "Un burro suelto en el camino de la Vega, ¿quién lo recoge?"),
    ("El burro de @antonio_luz no ha cambiado la bombilla", "abusive",
     "El [insulto] de @antonio_luz no ha cambiado la bombilla"),
    ("This useless form will not submit", "none", "This useless form will not submit"),
    ("You useless lot, the form will not submit", "abusive",
     "You [insult] lot, the form will not submit"),
    ("A mi hija le llaman 'tonta' en el colegio, ¿hay algún programa?", "none",
     "A mi hija le llaman 'tonta' en el colegio, ¿hay algún programa?"),
    ("Soy un desastre, perdí el justificante de la reserva", "none",
     "Soy un desastre, perdí el justificante de la reserva"),
    ("I'm such an idiot, I forgot my booking number", "none",
     "I'm such an idiot, I forgot my booking number"),
])
def test_a_word_counts_when_aimed_at_a_person_not_when_it_names_a_thing(
        text: str, level: str, masked: str) -> None:
    [result] = SHIELD.assess([text])
    assert (result.level, result.masked_text) == (level, masked)


@pytest.mark.parametrize("text", [
    "@carmen_luz puta vaga, la farola sigue rota",
    "Te voy a matar",
    "Sé dónde vives",
    "inútil, arregla la farola",
])
def test_short_spanish_is_told_among_the_towns_languages(text: str) -> None:
    [result] = SHIELD.assess([text])
    assert result.lang == "es"
    assert result.level in ("abusive", "threat")
    assert "[" in result.masked_text


def test_placeholders_are_in_the_messages_language() -> None:
    spanish, english = SHIELD.assess(["Eres un payaso, arregla la farola de la calle Real",
                                      "You are a clown, fix the lamp on calle Real"])
    assert spanish.masked_text == "Eres un [insulto], arregla la farola de la calle Real"
    assert english.masked_text == "You are a [insult], fix the lamp on calle Real"


INSULTS = ["Eres un inútil", "Sois unos payasos", "Panda de vagos", "Pedazo de imbécil",
           "@carmen_luz eres una incompetente"]
REQUESTS = ["arregla la farola de la calle Olmo", "vaciad el contenedor de la plaza Mayor",
            "la fuente del parque Norte pierde agua", "quiero cita para el martes 12"]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(INSULTS), st.sampled_from(REQUESTS), st.sampled_from([", ", ". ", " y "]))
def test_masking_keeps_every_word_of_the_request(insult: str, request: str,
                                                 joint: str) -> None:
    [result] = SHIELD.assess([insult + joint + request])
    assert result.level == "abusive"
    assert result.masked_text.endswith(request)
    assert "[insulto]" in result.masked_text


def _public_cases() -> list[dict[str, str]]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines
            if json.loads(line)["kind"] in ("insult_staff", "threat_wait", "threat_kill",
                                            "request", "identity", "complaint_rude")][::3]


CASES = _public_cases()
LEVELS = {case["text"]: result.level
          for case, result in zip(CASES, SHIELD.assess([c["text"] for c in CASES]),
                                  strict=True)}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CASES), st.integers(min_value=0, max_value=10_000))
def test_obfuscation_never_changes_the_level(case: dict[str, str], seed: int) -> None:
    [result] = SHIELD.assess([obfuscate(case["text"], seed=seed)])
    assert result.level == LEVELS[case["text"]]
