"""Templates and the headers every page is sent with.

One jinja2 environment per language, each with its catalogue installed once (rendering
is synchronous, but a shared environment switched per request would be one mistake away
from a page in the wrong language). Autoescape is on for every template: citizens' text is
untrusted everywhere."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from guardian.schedule.localtime import resolve
from guardian.web.ui.i18n import LANGUAGE_NAMES, LANGUAGES, translations

TEMPLATES = Path(__file__).parent / "templates"

# No inline script or style anywhere: scripts and styles only from Guardian itself; forms
# post only to Guardian; no framing (clickjacking).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; connect-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages hold personal data and abuse: never kept by the browser or a proxy.
    "Cache-Control": "no-store",
}


def _minutes_left(until: dt.datetime | None, now: dt.datetime) -> int:
    if until is None:
        return 0
    return max(0, int((until - now).total_seconds() + 59) // 60)


@functools.cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
        default=True, default_for_string=True), undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(LANGUAGES=LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES,
                       minutes_left=_minutes_left)
    return env


def render(lang: str, template: str, context: dict[str, Any]) -> str:
    return environment(lang).get_template(template).render(lang=lang, **context)


def html(text: str, status: int = 200, headers: dict[str, str] | None = None
         ) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html",
                        headers={**SECURITY_HEADERS, **(headers or {})})


def see_other(location: str) -> web.Response:
    """After a POST, the next page by GET (a reload never repeats the action)."""
    return web.Response(status=303, headers={**SECURITY_HEADERS, "Location": location})


def form_instant(raw: str, zone: ZoneInfo) -> str | None:
    """A `datetime-local` field (a wall clock in `zone`: the town's, the person's) as an
    ISO instant, or None for what is not one (a time that does not exist on that clock is
    moved as the schedule moves it)."""
    try:
        local = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if local.tzinfo is not None:
        return None
    return resolve(local, zone).isoformat()
