"""Language detection: py3langid with our own identifiers, hints, candidates, short texts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import py3langid  # type: ignore[import-untyped]
import pytest

from guardian.scoring.language import Detected, covered, detect, primary_subtag

SPANISH = [
    "La farola de la calle Real 13 no funciona desde las 22:48",
    "¿Me dan cita con el médico el 3 de marzo?",
    "Buenos días, quería saber cuándo abre la piscina municipal este verano",
    "El ayuntamiento tiene que arreglar los baches de mi barrio de una vez",
]
ENGLISH = [
    "I'd like to book the meeting room for 10 people",
    "The bins on our street have not been collected for two weeks",
    "When does the swimming pool open this summer?",
    "Could someone please fix the broken street light near the school",
]
PORTUGUESE = "Obrigado pela ajuda, até amanhã e boa noite para todos vocês"


@pytest.mark.parametrize("text", SPANISH)
def test_spanish(text: str) -> None:
    found = detect(text)
    assert found.lang == "es"
    assert 0.5 < found.confidence <= 1.0


@pytest.mark.parametrize("text", ENGLISH)
def test_english(text: str) -> None:
    found = detect(text)
    assert found.lang == "en"
    assert 0.5 < found.confidence <= 1.0


@pytest.mark.parametrize(("hint", "lang"), [
    ("es-ES", "es"), ("en", "en"), ("EN_gb", "en"), ("pt-BR", "pt"), ("ast", "ast"),
])
def test_hint_wins(hint: str, lang: str) -> None:
    assert detect(ENGLISH[0], hint=hint) == Detected(lang, 1.0)
    assert detect("ok", hint=hint, candidates=["es"]) == Detected(lang, 1.0)


@pytest.mark.parametrize("hint", ["und", "", "zxx", "12", "x-private", "español"])
def test_hints_that_name_no_language_are_ignored(hint: str) -> None:
    assert detect(SPANISH[0], hint=hint).lang == "es"


def test_candidates_restrict() -> None:
    assert detect(PORTUGUESE).lang == "pt"
    found = detect(PORTUGUESE, candidates=["es", "en"])
    assert found.lang in ("es", "en")
    assert 0.0 <= found.confidence <= 1.0
    assert detect(ENGLISH[1], candidates=["es-ES", "en-GB"]).lang == "en"


def test_candidates_do_not_touch_the_shared_identifier() -> None:
    detect(PORTUGUESE, candidates=["es"])
    assert detect(PORTUGUESE).lang == "pt"
    assert py3langid.classify(PORTUGUESE)[0] == "pt"


def test_unknown_candidates_are_ignored() -> None:
    assert detect(SPANISH[0], candidates=["es", "xx", "tlh"]).lang == "es"
    assert detect(SPANISH[0], candidates=["xx"]) == Detected(None, 0.0)


@pytest.mark.parametrize("text", [
    "", "ok", "¡¡sí!!", "👍👍", "22:48", "@juan_luz https://t.co/abc #idiota 👍",
    "info@ayto-ejemplo.es", "jo 123",
])
def test_short_text_has_no_language(text: str) -> None:
    assert detect(text) == Detected(None, 0.0)
    assert detect(text, candidates=["es", "en"]) == Detected(None, 0.0)


def test_mentions_links_and_hashtags_are_ignored() -> None:
    text = ("@the_english_council https://example.com/the/english/words #TheWeekendIsHere "
            "muchas gracias por todo, sois los mejores")
    assert detect(text).lang == "es"


def test_threads_agree() -> None:
    texts = (SPANISH + ENGLISH + [PORTUGUESE]) * 10
    expected = [detect(t, candidates=["es", "en", "pt"]) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: detect(t, candidates=["es", "en", "pt"]), texts))
        plain = list(pool.map(detect, texts))
    assert got == expected
    assert plain == [detect(t) for t in texts]


def test_primary_subtag() -> None:
    assert primary_subtag("es-ES") == "es"
    assert primary_subtag(" EN_us ") == "en"
    assert primary_subtag("und") is None
    assert primary_subtag(None) is None


def test_covered() -> None:
    languages = frozenset({"es", "en"})
    assert covered("es", languages)
    assert covered("es-ES", languages)
    assert covered("EN", languages)
    assert not covered("fr", languages)
    assert not covered("und", languages)
    assert covered(None, languages)  # unknown (too short) is not flagged as uncovered
    assert not covered("es", frozenset())


def _town_texts() -> list[str]:
    import json
    from pathlib import Path

    from guardian.scoring.normalise import normalise

    root = Path(__file__).resolve().parents[2]
    lines = (root / "tests" / "data" / "town_messages.jsonl").read_text("utf-8").splitlines()
    texts = [normalise(json.loads(line)["text"]).text for line in lines if line.strip()]
    return [*texts, *SPANISH, *ENGLISH, PORTUGUESE, "", "ok", "@ana #tag http://x.es",
            "ÁRBOL GRANDE EN LA PLAZA", "Bom dia, tudo bem com vocês hoje na praça"]


def test_a_batch_tells_the_languages_py3langid_tells_one_by_one() -> None:
    from guardian.scoring import language

    texts = _town_texts()
    town = ("es", "en")
    wide_langs = language._known((*town, *language.NEIGHBOURS))
    for wider in (False, True):
        found = language.detect_in_town_many(texts, town, wider=[wider] * len(texts))
        for text, (wide, in_town) in zip(texts, found, strict=True):
            cleaned = language._STRIP.sub(" ", text[:language.MAX_CHARACTERS])
            if not language._enough_letters(cleaned):
                assert wide.lang is None and in_town.lang is None
                continue
            lang, confidence = language._restricted(town).classify(cleaned)
            assert in_town.lang == lang
            assert in_town.confidence == pytest.approx(confidence, abs=1e-5)
            if wider:
                lang, confidence = language._restricted(wide_langs).classify(cleaned)
                assert wide.lang == lang
                assert wide.confidence == pytest.approx(confidence, abs=1e-5)
            else:
                assert wide == in_town
        # One at a time, the same answers.
        assert [language.detect_in_town(t, town, wider=wider) for t in texts[:20]] \
            == found[:20]


def test_the_assessor_tells_a_batch_as_it_tells_each_text() -> None:
    from guardian.scoring.assessor import Assessor
    from guardian.scoring.lite import LiteModel

    texts = _town_texts()
    hints = [None, "es", None, "en-GB", None] * (len(texts) // 5) + [None] * (len(texts) % 5)
    assessor = Assessor(model=LiteModel())
    assert assessor.languages_of(texts, hints) == [
        assessor.language_of(t, h) for t, h in zip(texts, hints, strict=True)]
