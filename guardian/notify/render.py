"""Notification texts: one template per kind, language and format, fitted to the channel.

`render(kind, lang, payload, style)` turns a notification's payload into a title and a
body for one channel. Templates live in `templates/<lang>/`, one file per kind and use:

- `<kind>.title.j2`: the title, plain text, one line;
- `<kind>.text.j2`, `<kind>.markdown.j2`, `<kind>.html.j2`: the body in each format;
- `<kind>.short.j2`: a plain-text body for channels with a small limit (SMS).

Every payload value is treated as untrusted (citizen text, handles): HTML templates are
autoescaped, markdown templates escape every `{{ … }}` that is not marked as a URL by the
`url` filter, and control characters are removed from every string beforehand. A short
body is fitted to `style.max_body`: the citizen text is truncated first (with "…"), then,
as a last guard, whatever precedes the link that must survive (a page's `ack_url`). The
link to flag a message as abusive (`flag_url`) is the first thing a short body leaves out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    UndefinedError,
    select_autoescape,
)
from markupsafe import Markup, escape

Format = Literal["text", "markdown", "html"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "html")

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_LANGUAGE = "es"
# apprise gives most services a body limit in the thousands; below this one the channel
# is short enough to need the short template.
LONG_BODY = 2000
# A page's text is kept at least this long before the reply code is dropped to make room.
MIN_SHORT_TEXT = 40

URGENCIES = frozenset({"low", "normal", "high", "emergency"})
PAGE_STEPS = frozenset({"paged", "escalated", "last_resort"})

_DELIVER_KEYS = ("category", "urgency", "team", "text", "shielded", "received_at",
                 "local_time", "link", "author", "reasons")
# The payload keys each kind needs (more are allowed and ignored).
PAYLOAD_KEYS: Mapping[str, tuple[str, ...]] = {
    "deliver": _DELIVER_KEYS,
    "page": (*_DELIVER_KEYS, "page_id", "step", "ack_url", "reply_code", "escalated_from"),
    "digest": ("person", "count", "groups", "more_link"),
    "storm_notice": ("target", "distinct_authors", "abusive_messages", "window_minutes",
                     "link"),
    "admin_alert": ("notification_id", "recipient", "failed_kind", "error"),
    "test": ("person",),
    "schedule": ("event", "team", "start", "end", "by", "other", "link"),
    "backlog": ("depth", "oldest_minutes", "threshold_minutes"),
    "report": ("week", "number", "from", "until", "kept", "contacted", "night_pages",
               "night_acked", "shielded", "held", "storms", "over_on_call",
               "exposure_full_days", "link"),
}
KINDS = frozenset(PAYLOAD_KEYS)
# Keys a payload may lack (rows written before they existed): the templates get None.
OPTIONAL_KEYS: Mapping[str, tuple[str, ...]] = {"deliver": ("flag_url",), "page": ("flag_url",),
                                                "digest": ("held",)}
# The same for each item of a digest.
OPTIONAL_DIGEST_ITEM_KEYS = ("flag_url",)

# The link a short body must never lose, by kind (a payload key; its value may be None).
_KEEP: Mapping[str, str] = {"page": "ack_url", "deliver": "link", "digest": "more_link",
                            "storm_notice": "link", "schedule": "link", "report": "link"}
# The payload text a short body may truncate, by kind.
_SHRINK: Mapping[str, str] = {"page": "text", "deliver": "text"}
# What a short body gives up, in turn: the flag link unless the whole text fits beside it,
# then a page's reply code (`compact`) before its text gets shorter than MIN_SHORT_TEXT.
_SHORT_STEPS: Mapping[str, tuple[Mapping[str, bool], ...]] = {
    "page": ({"flag": True, "compact": False}, {"flag": False, "compact": False},
             {"flag": False, "compact": True}),
    "deliver": ({"flag": True, "compact": False}, {"flag": False, "compact": False}),
}


class PayloadError(ValueError):
    """The payload does not fit its kind's templates (a key is missing or has a bad value)."""


@dataclass(frozen=True)
class ChannelStyle:
    """What a channel can show."""

    format: Format          # what the channel displays
    max_body: int | None    # characters the channel takes in a body; None: no limit to mind
    has_title: bool         # whether the channel shows a separate title

    @classmethod
    def of_plugin(cls, plugin: object) -> ChannelStyle:
        """The style of an apprise (2.x) plugin instance.

        The format is the one the plugin resolves to by default (apprise 2.x plugins may
        declare several, the first being their default); a body limit of `LONG_BODY` or
        more counts as none; a `title_maxlen` of 0 means the channel shows no title.
        """
        resolve = getattr(plugin, "resolve_format", None)
        fmt: object = resolve() if callable(resolve) else getattr(plugin, "notify_format",
                                                                   "text")
        if isinstance(fmt, tuple | list):
            fmt = fmt[0] if fmt else "text"
        value = str(getattr(fmt, "value", fmt)).lower()
        format_: Format = "text"
        for known in FORMATS:
            if value == known:
                format_ = known
        max_body = _int_attr(plugin, "body_maxlen")
        if max_body is not None and (max_body <= 0 or max_body >= LONG_BODY):
            max_body = None
        title_maxlen = _int_attr(plugin, "title_maxlen")
        return cls(format_, max_body, title_maxlen is None or title_maxlen > 0)


PLAIN = ChannelStyle("text", None, True)   # what the delivery log stores


@dataclass(frozen=True)
class Rendered:
    title: str        # "" when the channel shows no title (it is then the body's start)
    body: str
    format: Format    # what `body` is written in: pass it to apprise as `body_format`


def languages() -> frozenset[str]:
    """The languages that have templates."""
    return _languages()


def resolve_language(lang: str | None) -> str:
    """The template language for a recipient's language tag.

    The tag's primary subtag ("en" in "en-GB" or "en_US") if templates exist for it,
    otherwise Spanish, the town's language.
    """
    primary = re.split(r"[-_]", (lang or "").strip().lower(), maxsplit=1)[0]
    return primary if primary in languages() else DEFAULT_LANGUAGE


def render(kind: str, lang: str, payload: Mapping[str, Any],
           style: ChannelStyle = PLAIN) -> Rendered:
    """Title and body of a `kind` notification in `lang`, for a channel of `style`.

    Raises `ValueError` for an unknown kind and `PayloadError` (a `ValueError`) for a
    payload that lacks a key or has a bad value.
    """
    kind = str(kind)
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r} (known: {sorted(KINDS)})")
    lang = resolve_language(lang)
    _check(kind, payload)
    data: dict[str, Any] = _clean(_with_optional(kind, payload))
    title = _one_line(_render(kind, lang, "title", data))
    if style.max_body is not None:
        body = _render_short(kind, lang, data, style.max_body)
        # A short body starts with what the title says; it is not repeated.
        return Rendered(title if style.has_title else "", body, "text")
    body = _render(kind, lang, style.format, data)
    if not style.has_title:
        body = _fold_title(title, body, style.format)
        title = ""
    return Rendered(title, body, style.format)


# -- checks and cleaning ---------------------------------------------------------------------

def _check(kind: str, payload: Mapping[str, Any]) -> None:
    missing = [key for key in PAYLOAD_KEYS[kind] if key not in payload]
    if missing:
        raise PayloadError(f"{kind} payload lacks {', '.join(missing)}")
    if kind in ("deliver", "page") and payload["urgency"] not in URGENCIES:
        raise PayloadError(f"{kind} payload has an unknown urgency {payload['urgency']!r} "
                           f"(known: {sorted(URGENCIES)})")
    if kind == "page" and payload["step"] not in PAGE_STEPS:
        raise PayloadError(f"page payload has an unknown step {payload['step']!r} "
                           f"(known: {sorted(PAGE_STEPS)})")
    if kind == "page" and not payload["ack_url"]:
        raise PayloadError("page payload has an empty ack_url")


def _with_optional(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload with its missing optional keys (and its digest items') set to None."""
    data: dict[str, Any] = {key: None for key in OPTIONAL_KEYS.get(kind, ())}
    data.update(payload)
    groups = data.get("groups") if kind == "digest" else None
    if isinstance(groups, list):
        data["groups"] = [_group_with_optional(group) for group in groups]
    return data


def _group_with_optional(group: Any) -> Any:
    items = group.get("items") if isinstance(group, Mapping) else None
    if not isinstance(items, list):
        return group  # the template names what is wrong
    filled = []
    for item in items:
        if isinstance(item, Mapping):
            item = {**{key: None for key in OPTIONAL_DIGEST_ITEM_KEYS}, **item}
        filled.append(item)
    return {**group, "items": filled}


# C0/C1 controls except tab and newline, and the bidirectional overrides and isolates
# (which can make a text display as something else).
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSAFE_CHARS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if isinstance(value, Mapping):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def _int_attr(obj: object, name: str) -> int | None:
    value = getattr(obj, name, None)
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


# -- rendering -------------------------------------------------------------------------------

def _render(kind: str, lang: str, use: str, data: Mapping[str, Any]) -> str:
    env = _markdown_env() if use == "markdown" else _env()
    name = f"{lang}/{kind}.{use}.j2"
    try:
        template = env.get_template(name)
    except TemplateNotFound:
        raise LookupError(f"no template {name} under {TEMPLATES}") from None
    return _render_template(template, kind, data)


def _render_template(template: Template, kind: str, data: Mapping[str, Any]) -> str:
    try:
        return template.render(data).strip()
    except UndefinedError as exc:
        raise PayloadError(f"{kind} payload does not fit template {template.name}: "
                           f"{exc.message}") from exc


def _render_short(kind: str, lang: str, data: Mapping[str, Any], limit: int) -> str:
    template = _env().get_template(f"{lang}/{kind}.short.j2")
    shrink = _SHRINK.get(kind)
    if shrink is not None:
        data = {**data, shrink: _one_line(str(data[shrink]))}
    body = ""
    # First with everything (the flag link, a page's reply code), then less and less.
    for step in _SHORT_STEPS.get(kind, ({"flag": False, "compact": False},)):
        context = {**data, **step}
        body = _render_template(template, kind, context)
        if shrink is None:
            break
        full = text = str(context[shrink])
        while len(body) > limit and text:
            text = _truncate(text, len(text) - (len(body) - limit))
            body = _render_template(template, kind, {**context, shrink: text})
        if len(body) <= limit and (text == full or (
                not step["flag"] and len(text) >= MIN_SHORT_TEXT)):
            break
    keep_key = _KEEP.get(kind)
    keep = data.get(keep_key) if keep_key is not None else None
    return _fit(body, limit, str(keep) if keep else None)


def _truncate(text: str, size: int) -> str:
    """`text` in at most `size` characters, ending in "…" when cut."""
    if len(text) <= size:
        return text
    if size <= 1:
        return "…"[:max(size, 0)]
    return text[:size - 1].rstrip() + "…"


def _fit(body: str, limit: int, keep: str | None) -> str:
    """`body` in at most `limit` characters, never cutting `keep` (the last guard).

    What precedes `keep`'s line (or `keep` itself, when even its line is too long) is
    truncated; whatever follows `keep` is dropped. If `keep` alone is longer than
    `limit`, `keep` alone is returned: a link that works beats the limit.
    """
    if len(body) <= limit:
        return body
    at = body.rfind(keep) if keep else -1
    if keep is None or at < 0:
        return _truncate(body, limit)
    line_start = body.rfind("\n", 0, at) + 1
    for start in dict.fromkeys((line_start, at)):
        tail = body[start:at + len(keep)]
        head = body[:start].rstrip()
        sep = body[len(head):start] or " "
        if not head:
            if len(tail) <= limit:
                return tail
            continue
        room = limit - len(tail) - len(sep)
        if room >= 1:
            return _truncate(head, room) + sep + tail
    return keep


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fold_title(title: str, body: str, format_: Format) -> str:
    if not title:
        return body
    if format_ == "html":
        return f"<p><b>{escape(title)}</b></p>\n{body}"
    if format_ == "markdown":
        return f"**{md_escape(title)}**\n\n{body}"
    return f"{title}\n\n{body}"


# -- escaping and filters --------------------------------------------------------------------

_MD_INLINE = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
_MD_BULLET = re.compile(r"^([-+=])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^(\d+)([.)])", re.MULTILINE)
_MD_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def md_escape(text: str) -> str:
    """`text` with every markdown-active character made literal.

    Backslash-escapes the inline markup characters everywhere, and at a line's start the
    list, heading-underline and numbered-list markers; leading indentation (a code block)
    is dropped.
    """
    text = _MD_INDENT.sub("", text)
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_BULLET.sub(r"\\\1", text)
    return _MD_ORDERED.sub(r"\1\\\2", text)


class _MdSafe(str):
    """A string a markdown template outputs as it is (a URL the `url` filter encoded)."""

    __slots__ = ()


def _md_finalize(value: Any) -> str:
    if isinstance(value, _MdSafe):
        return str(value)
    return md_escape(str(value))


def _md_url(value: Any) -> _MdSafe:
    # Characters that would end or break a markdown link destination are percent-encoded.
    return _MdSafe(quote(str(value), safe="/:?#&=%+,;@!$'*~.-_"))


def _text_url(value: Any) -> str:
    return str(value)


def _nl2br(value: Any) -> Markup:
    return Markup("<br>\n").join(escape(line) for line in str(value).split("\n"))


def _build_env(finalize: Callable[[Any], Any] | None, url: Callable[[Any], Any]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",),
                                     default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        finalize=finalize,
    )
    env.filters["url"] = url
    env.filters["oneline"] = lambda value: _one_line(str(value))
    env.filters["nl2br"] = _nl2br
    return env


@functools.cache
def _env() -> Environment:
    """Titles, text, short and HTML templates (HTML ones autoescaped)."""
    return _build_env(None, _text_url)


@functools.cache
def _markdown_env() -> Environment:
    """Markdown templates: every `{{ … }}` is escaped unless it went through `url`."""
    return _build_env(_md_finalize, _md_url)


@functools.cache
def _languages() -> frozenset[str]:
    return frozenset(path.name for path in TEMPLATES.iterdir()
                     if path.is_dir() and not path.name.startswith(("_", ".")))
