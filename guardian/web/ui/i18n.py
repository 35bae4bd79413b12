"""The pages' languages: gettext catalogues (`locale/<lang>/LC_MESSAGES/guardian.po`, kept
in the repository) read with Babel when the app starts, without a compile step. Spanish is
the default; a person's language is their own choice (stored with their account), else the
first of their `languages` in the policy that the pages speak."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("es", "en")
DEFAULT_LANGUAGE = "es"
# Each language named in itself, for the switch on every page.
LANGUAGE_NAMES = {"es": "Español", "en": "English"}


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "guardian.po"


@functools.cache
def translations(lang: str) -> Translations:
    """The catalogue of `lang`, read once per process (turned into gettext's binary form in
    memory: nothing compiled is kept in the repository)."""
    with catalogue_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    binary = io.BytesIO()
    write_mo(binary, catalog)
    binary.seek(0)
    return Translations(fp=binary, domain="guardian")


def choose_language(chosen: str | None, preferred: Sequence[str]) -> str:
    """The account's choice, else the person's first policy language the pages speak."""
    if chosen in LANGUAGES:
        return chosen
    for lang in preferred:
        if lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE
