"""National and regional public holidays from the `holidays` package, for holiday calendars
that name a `country` (and maybe a `subdivision`). Pure: the package computes the days from
rules and the data it ships (no network, no clock).

The days are computed once per (country, subdivision, language) for a fixed span of years,
`YEARS`, and kept for the life of the process: about 0.1 s the first time a country is
asked for (the package loads its rules and names), a few milliseconds for another region
or language of it, then nothing; a reloaded policy finds them ready. Outside the span a
calendar has only the days written in the policy, and `guardian policies check` warns when
a calendar in use has none for the current or coming year, as it does for any calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType

YEARS = range(2020, 2041)  # 2020 to 2040


def _supported() -> dict[str, list[str]]:
    # Imported here: the package takes a few tens of milliseconds to import, and most
    # commands never need it.
    import holidays

    return holidays.list_supported_countries()


def country_problem(country: str) -> str | None:
    """Why `country` is not a code the package knows (a sentence), or None."""
    known = _supported()
    if country in known:
        return None
    hint = (f"; did you mean {country.upper()}?" if country.upper() in known
            else "; use an ISO 3166 code such as ES, PT or FR")
    return f"unknown country {country!r} for national holidays{hint}"


def subdivision_problem(country: str, subdivision: str) -> str | None:
    """Why `subdivision` is not one of `country`'s in the package (a sentence), or None."""
    known = _supported().get(country)
    if known is None or subdivision in known:
        return None
    if not known:
        return (f"the `holidays` package has no regions for {country}; remove "
                "`subdivision`")
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    hint = (f"did you mean {subdivision.upper()}? " if subdivision.upper() in known else "")
    return (f"unknown subdivision {subdivision!r} of {country}; {hint}use one of the "
            f"package's codes: {shown}")


@lru_cache(maxsize=64)
def _languages(country: str) -> tuple[tuple[str, ...], str | None]:
    import holidays

    found = holidays.country_holidays(country, years=[])
    return tuple(found.supported_languages), found.default_language


def names_language(country: str, languages: Sequence[str]) -> str | None:
    """The first of `languages` (ISO 639-1, in order of preference) the package has names
    in for `country` (`en` matches `en_US`), else the package's default for it. Always
    named: left to itself the package would follow the machine's locale (LANG)."""
    supported, default = _languages(country)
    for language in languages:
        if language in supported:
            return language
        regional = sorted(s for s in supported if s.split("_")[0] == language)
        if regional:
            return regional[0]
    return default


@lru_cache(maxsize=64)
def package_days(country: str, subdivision: str | None, language: str | None
                 ) -> Mapping[dt.date, str]:
    """The public holidays of `country` (and its `subdivision`) in `YEARS`, each with its
    name in `language` (see `names_language`). Read-only: it is shared."""
    import holidays

    found = holidays.country_holidays(country, subdiv=subdivision, years=YEARS,
                                      language=language)
    return MappingProxyType(dict(sorted(found.items())))


def is_national(country: str, language: str | None, day: dt.date) -> bool:
    """Whether `day` is a holiday of the whole country (not only of a region)."""
    return day in package_days(country, None, language)
