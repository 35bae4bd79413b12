"""The catalogues: every sentence of every template in Spanish and English, with the same
placeholders; a person's language chosen as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from guardian.web.ui.i18n import LANGUAGES, catalogue_path, choose_language, translations
from guardian.web.ui.render import TEMPLATES, render

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _template_msgids() -> dict[str, str]:
    """Every msgid the templates use, with where."""
    found: dict[str, str] = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        with path.open("rb") as handle:
            for line, _, message, _ in babel_extract(
                    handle, ["_", "gettext", "ngettext"], [],
                    {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                     "lstrip_blocks": "true"}):
                text = message if isinstance(message, str) else (message or [None])[0]
                assert isinstance(text, str), (path, line, message)  # no dynamic msgids
                found.setdefault(text, f"{path.name}:{line}")
    return found


def _catalogue(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


def test_the_templates_use_sentences() -> None:
    assert len(_template_msgids()) > 100


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_sentence_is_translated(lang: str) -> None:
    catalogue = _catalogue(lang)
    missing = [f"{where}: {msgid!r}" for msgid, where in _template_msgids().items()
               if (entry := catalogue.get(msgid)) is None or not entry.string or entry.fuzzy]
    assert missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_sentence_is_left_over_and_placeholders_match(lang: str) -> None:
    used = _template_msgids()
    catalogue = _catalogue(lang)
    stale = [m.id for m in catalogue if m.id and m.id not in used]
    assert stale == []
    wrong = [m.id for m in catalogue if m.id and isinstance(m.id, str)
             and isinstance(m.string, str)
             and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))]
    assert wrong == []


def test_the_catalogues_are_read_without_a_compiled_file() -> None:
    assert not list(Path(catalogue_path("es")).parent.glob("*.mo"))
    assert translations("es").gettext("Sign in") == "Entrar"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_a_page_speaks_one_language() -> None:
    context = {"visitor": None, "csrf": "t", "path": "/signin", "next": "/",
               "staff_id": "", "error": "wrong", "minutes": 0}
    spanish = render("es", "signin.html", context)
    english = render("en", "signin.html", context)
    assert '<html lang="es">' in spanish and "Identificador de personal" in spanish
    assert '<html lang="en">' in english and "Staff id" in english
    assert "Entrar" not in english


def test_the_persons_choice_then_the_policy_then_spanish() -> None:
    assert choose_language("en", ["es"]) == "en"
    assert choose_language(None, ["en", "es"]) == "en"
    assert choose_language(None, ["fr", "en"]) == "en"  # the first the pages speak
    assert choose_language(None, ["fr"]) == "es"
    assert choose_language("fr", []) == "es"
