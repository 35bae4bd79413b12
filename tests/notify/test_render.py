"""Notification templates: every kind, language and format; escaping; short channels."""

from __future__ import annotations

import html
import importlib
import re
from typing import Any

import apprise
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.notify import render as render_module
from guardian.notify.channels import apprise_module
from guardian.notify.render import (
    KINDS,
    OPTIONAL_KEYS,
    PLAIN,
    ChannelStyle,
    PayloadError,
    Rendered,
    languages,
    md_escape,
    render,
    resolve_language,
)

ACK_URL = "https://guardian.example.org/ack/eyJwIjoxMn0.Zx9q1w.Q2hhbmdlTWU-kTq_8yN"
LINK = "https://guardian.example.org/api/v1/messages/12"
# As long as a real one (a base URL, then about 75 characters of signed token).
FLAG_URL = ("https://guardian.example.org/flag/eyJtIjoxMiwidSI6ImFudG9uaW8ifQ.aVBx2A."
            "Kq3Vb0s9Xy-Lm4Np7Qr1St5Uv8Wz")
# apprise's plugins import the deprecated `imghdr`; this loads it once, quietly.
apprise_module()

EVIL = "La farola <script>alert(1)</script> **bold** [x](http://evil) no funciona"

TEXT = ChannelStyle("text", None, True)
MARKDOWN = ChannelStyle("markdown", None, True)
HTML = ChannelStyle("html", None, True)
SMS = ChannelStyle("text", 160, False)
STYLES = {"text": TEXT, "markdown": MARKDOWN, "html": HTML, "sms": SMS,
          "html-no-title": ChannelStyle("html", None, False),
          "markdown-no-title": ChannelStyle("markdown", None, False)}


def deliver_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "category": "alumbrado", "urgency": "high", "team": "lighting",
        "text": "La farola de la calle Real no funciona", "shielded": False,
        "received_at": "2026-11-25T21:48:00+00:00", "local_time": "22:48", "link": LINK,
        "author": "@vecina", "reasons": ["on duty for lighting"], "flag_url": FLAG_URL}
    payload.update(changes)
    return payload


def page_payload(**changes: Any) -> dict[str, Any]:
    payload = deliver_payload(urgency="emergency", text="A cable fell on the road")
    payload.update({"page_id": 12, "step": "paged", "ack_url": ACK_URL,
                    "reply_code": "ACK 12-4f9a2b", "escalated_from": None})
    payload.update(changes)
    return payload


def digest_payload(**changes: Any) -> dict[str, Any]:
    item = {"text": "La farola de la calle Real no funciona", "local_time": "25/11 22:48",
            "link": LINK, "urgency": "high", "shielded": True, "flag_url": FLAG_URL}
    payload: dict[str, Any] = {
        "person": "Antonio Ruiz", "count": 4,
        "groups": [{"category": "alumbrado", "count": 3, "items": [item, item]},
                   {"category": "limpieza", "count": 1,
                    "items": [{**item, "urgency": "low", "shielded": False,
                               "local_time": "", "flag_url": None}]}],
        "more_link": "https://guardian.example.org/api/v1/notifications?recipient=antonio"}
    payload.update(changes)
    return payload


PAYLOADS: dict[str, dict[str, Any]] = {
    "deliver": deliver_payload(),
    "page": page_payload(),
    "digest": digest_payload(),
    "storm_notice": {"target": "Antonio Ruiz", "distinct_authors": 7,
                     "abusive_messages": 23, "window_minutes": 30,
                     "link": "https://guardian.example.org/api/v1/review?target=antonio"},
    "admin_alert": {"notification_id": 41, "recipient": "antonio", "failed_kind": "page",
                    "error": "connection refused"},
    "test": {"person": "Antonio Ruiz"},
    "schedule": {"event": "swap_proposed", "team": "Alumbrado público", "start": "30/11 08:00",
                 "end": "07/12 08:00", "by": "Carmen Vidal", "other": "",
                 "link": "https://guardian.example.org/api/v1/overrides?team=lighting"},
    "backlog": {"depth": 4210, "oldest_minutes": 17, "threshold_minutes": 5},
    "report": {"week": "2026-W48", "number": 48, "from": "23/11", "until": "29/11/2026",
               "kept": 4, "contacted": 0, "night_pages": 2, "night_acked": 1, "shielded": 1,
               "held": 3, "storms": 1, "over_on_call": "Carmen Vidal",
               "exposure_full_days": 0,
               "link": "https://guardian.example.org/report?week=2026-W48"},
}


def test_payloads_cover_every_kind() -> None:
    assert set(PAYLOADS) == KINDS == {"deliver", "page", "digest", "storm_notice",
                                      "admin_alert", "test", "schedule", "backlog",
                                      "report"}


def test_a_schedule_change_says_who_asks_what_and_when_in_each_language() -> None:
    spanish = render("schedule", "es", PAYLOADS["schedule"]).body
    assert "Carmen Vidal te pide que cubras su turno en Alumbrado público" in spanish
    assert "del 30/11 08:00 al 07/12 08:00" in spanish
    english = render("schedule", "en", {**PAYLOADS["schedule"], "event": "override_replaced",
                                        "other": "Carmen Vidal"}).body
    assert "HR: Carmen Vidal replaces you in Alumbrado público" in english


def test_languages() -> None:
    assert languages() == frozenset({"es", "en"})


# -- every kind, language and style ------------------------------------------------------------

@pytest.mark.parametrize("style_name", sorted(STYLES))
@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_kind_renders(kind: str, lang: str, style_name: str) -> None:
    style = STYLES[style_name]
    rendered = render(kind, lang, PAYLOADS[kind], style)
    assert isinstance(rendered, Rendered)
    assert rendered.body.strip() == rendered.body != ""
    assert "None" not in rendered.body
    assert "{{" not in rendered.body and "{%" not in rendered.body
    if style.max_body is not None:
        assert rendered.format == "text"
        assert len(rendered.body) <= style.max_body
        assert "\n\n" not in rendered.body
    else:
        assert rendered.format == style.format
    if style.has_title:
        assert rendered.title.startswith(("Guardian · ", "URGENT"))
        assert "\n" not in rendered.title
    else:
        assert rendered.title == ""


@pytest.mark.parametrize("style_name", sorted(STYLES))
@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_storm_notice_without_a_link_says_who_handles_it(lang: str, style_name: str) -> None:
    """HR's storm notice has no review-queue link (only moderators can open it)."""
    payload = {**PAYLOADS["storm_notice"], "link": None}
    rendered = render("storm_notice", lang, payload, STYLES[style_name])
    assert "None" not in rendered.body and "/api/v1/review" not in rendered.body
    assert ("moderators" if lang == "en" else "moderadores") in rendered.body.lower()
    with_link = render("storm_notice", lang, PAYLOADS["storm_notice"], STYLES[style_name])
    assert "/api/v1/review?target=antonio" in with_link.body


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_the_languages_differ(kind: str) -> None:
    spanish = render(kind, "es", PAYLOADS[kind])
    english = render(kind, "en", PAYLOADS[kind])
    assert spanish.body != english.body


def test_plain_is_the_default_style() -> None:
    assert ChannelStyle("text", None, True) == PLAIN
    assert render("deliver", "es", PAYLOADS["deliver"]) == render(
        "deliver", "es", PAYLOADS["deliver"], PLAIN)


def test_deliver_in_spanish_text() -> None:
    rendered = render("deliver", "es", deliver_payload(shielded=True, team=None))
    assert rendered.title == "Guardian · alumbrado (urgente)"
    assert "La farola de la calle Real no funciona" in rendered.body
    assert "@vecina" in rendered.body and "22:48" in rendered.body
    assert LINK in rendered.body
    assert "ocultado" in rendered.body
    assert "on duty for lighting" in rendered.body


def test_deliver_titles_name_only_high_urgencies() -> None:
    assert render("deliver", "en", deliver_payload(urgency="normal")).title == (
        "Guardian · alumbrado")
    assert render("deliver", "en", deliver_payload(urgency="emergency")).title == (
        "Guardian · alumbrado (emergency)")


def test_no_reasons_no_reasons_line() -> None:
    assert "Por qué" not in render("deliver", "es", deliver_payload(reasons=[])).body


@pytest.mark.parametrize("step", ["paged", "escalated", "last_resort"])
@pytest.mark.parametrize("lang, word", [("es", "URGENTE"), ("en", "URGENT")])
def test_page_titles_start_with_the_urgency_word(lang: str, word: str, step: str) -> None:
    title = render("page", lang, page_payload(step=step, urgency="high")).title
    assert title.startswith(f"{word} · alumbrado")
    assert (step == "paged") == (title == f"{word} · alumbrado")


def test_an_escalated_page_names_who_did_not_acknowledge() -> None:
    body = render("page", "es", page_payload(step="escalated", escalated_from="Ana")).body
    assert "Ana no lo confirmó" in body


@pytest.mark.parametrize("style_name", sorted(STYLES))
@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_page_body_has_the_ack_url_and_reply_code(lang: str, style_name: str) -> None:
    body = render("page", lang, page_payload(), STYLES[style_name]).body
    assert ACK_URL in body
    assert "ACK 12-4f9a2b" in body


def test_a_page_without_its_message() -> None:
    # A page whose message is gone: no text, no author.
    body = render("page", "en", page_payload(text="", author="")).body
    assert "wrote" not in body and ACK_URL in body


def test_digest_lists_groups_and_counts() -> None:
    body = render("digest", "es", digest_payload()).body
    assert body.index("alumbrado (3)") < body.index("limpieza (1)")
    assert "y 1 más" in body    # 3 in the group, 2 items listed
    assert "Antonio Ruiz" in body
    short = render("digest", "en", digest_payload(), SMS).body
    assert "alumbrado 3, limpieza 1" in short
    assert short.endswith(digest_payload()["more_link"])


def test_digest_without_more_link() -> None:
    body = render("digest", "en", digest_payload(more_link=None), SMS).body
    assert "http" not in body


def test_storm_notice_carries_no_message_text() -> None:
    for style in STYLES.values():
        body = render("storm_notice", "es", PAYLOADS["storm_notice"], style).body
        assert "23" in body and "7" in body and "Antonio Ruiz" in body


# -- titles folded into the body -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_channel_without_title_gets_it_at_the_start_of_the_body(fmt: str) -> None:
    with_title = render("deliver", "es", PAYLOADS["deliver"],
                        ChannelStyle(fmt, None, True))  # type: ignore[arg-type]
    folded = render("deliver", "es", PAYLOADS["deliver"],
                    ChannelStyle(fmt, None, False))  # type: ignore[arg-type]
    assert folded.title == ""
    assert folded.body.endswith(with_title.body)
    start = folded.body[:len(folded.body) - len(with_title.body)]
    assert "Guardian · alumbrado (urgente)" in html.unescape(start).replace("\\", "")


# -- escaping ------------------------------------------------------------------------------------

UNTRUSTED = ["text", "author", "category", "team", "reasons"]


def with_evil(kind: str, field: str) -> dict[str, Any]:
    maker = page_payload if kind == "page" else deliver_payload
    return maker(**{field: [EVIL] if field == "reasons" else EVIL})


@pytest.mark.parametrize("field", UNTRUSTED)
@pytest.mark.parametrize("kind", ["deliver", "page"])
@pytest.mark.parametrize("lang", ["es", "en"])
def test_html_escapes_citizen_text(lang: str, kind: str, field: str) -> None:
    body = render(kind, lang, with_evil(kind, field), HTML).body
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="http://evil"' not in body


def test_html_escapes_everywhere() -> None:
    evil = "<b onmouseover=x>"
    payloads: dict[str, dict[str, Any]] = {
        "digest": digest_payload(person=evil, groups=[{"category": evil, "count": 1, "items": [
            {"text": evil, "local_time": evil, "link": LINK, "urgency": "high",
             "shielded": False}]}]),
        "storm_notice": {**PAYLOADS["storm_notice"], "target": evil},
        "admin_alert": {**PAYLOADS["admin_alert"], "recipient": evil, "error": evil},
        "test": {"person": evil},
    }
    for kind, payload in payloads.items():
        rendered = render(kind, "en", payload, ChannelStyle("html", None, False))
        assert "<b onmouseover" not in rendered.body, kind
        assert "&lt;b onmouseover=x&gt;" in rendered.body, kind


def test_html_keeps_line_breaks_of_the_text() -> None:
    body = render("deliver", "es", deliver_payload(text="primera\n<i>segunda</i>"), HTML).body
    assert "primera<br>\n&lt;i&gt;segunda&lt;/i&gt;" in body


def markdown_shown(body: str) -> str:
    """What a markdown channel shows: apprise's own conversion, as for an HTML target."""
    conversion = importlib.import_module("apprise.conversion")  # untyped
    return str(conversion.convert_between(apprise.NotifyFormat.MARKDOWN,
                                          apprise.NotifyFormat.HTML, body))


@pytest.mark.parametrize("field", UNTRUSTED)
@pytest.mark.parametrize("kind", ["deliver", "page"])
@pytest.mark.parametrize("lang", ["es", "en"])
def test_markdown_escapes_citizen_text(lang: str, kind: str, field: str) -> None:
    body = render(kind, lang, with_evil(kind, field), MARKDOWN).body
    assert "**bold**" not in body
    assert "[x](http://evil)" not in body
    assert r"\*\*bold\*\*" in body
    shown = markdown_shown(body)
    assert "<script>" not in shown
    assert "<strong>bold</strong>" not in shown
    assert "http://evil" not in re.findall(r'href="([^"]*)"', shown)
    assert "**bold**" in html.unescape(shown)


def test_markdown_of_the_template_itself_survives() -> None:
    body = render("page", "en", page_payload(), MARKDOWN).body
    assert "**URGENT: alumbrado**" in body
    assert f"]({ACK_URL})" in body
    shown = markdown_shown(body)
    assert f'href="{ACK_URL}"' in shown
    assert "<strong>URGENT: alumbrado</strong>" in shown


def test_markdown_escapes_digest_items() -> None:
    payload = digest_payload(groups=[{"category": "alumbrado", "count": 1, "items": [
        {"text": EVIL, "local_time": "22:48", "link": LINK, "urgency": "normal",
         "shielded": False}]}])
    body = render("digest", "es", payload, MARKDOWN).body
    assert "**bold**" not in body and "[x](http://evil)" not in body


def test_markdown_link_destinations_cannot_be_broken_out_of() -> None:
    link = "https://guardian.example.org/a b)(c<d>"
    body = render("deliver", "en", deliver_payload(link=link), MARKDOWN).body
    assert "(https://guardian.example.org/a%20b%29%28c%3Cd%3E)" in body


@pytest.mark.parametrize("text, escaped", [
    ("**bold**", r"\*\*bold\*\*"),
    ("[x](http://evil)", r"\[x\]\(http://evil\)"),
    ("<script>", r"\<script\>"),
    ("# heading", r"\# heading"),
    ("- item\n+ item\n1. one\n2) two", "\\- item\n\\+ item\n1\\. one\n2\\) two"),
    ("    code", "code"),
    ("a_b `c` ~d~ |e| !f &g", r"a\_b \`c\` \~d\~ \|e\| \!f \&g"),
    ("calle Real, 3 - 22:48. Gracias", "calle Real, 3 - 22:48. Gracias"),
    ("back\\slash", "back\\\\slash"),
])
def test_md_escape(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped


def test_control_and_direction_characters_are_removed() -> None:
    text = "La farola\x00 de la calle\u202e Real\x1b[31m no funciona\r\nde noche"
    body = render("deliver", "en", deliver_payload(text=text)).body
    assert "La farola de la calle Real[31m no funciona\nde noche" in body


# -- errors --------------------------------------------------------------------------------------

def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown notification kind 'fax'"):
        render("fax", "es", {})


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_a_missing_key_is_named(kind: str) -> None:
    for key in set(PAYLOADS[kind]) - set(OPTIONAL_KEYS.get(kind, ())):
        payload = {k: v for k, v in PAYLOADS[kind].items() if k != key}
        with pytest.raises(PayloadError, match=rf"{kind} payload lacks {key}\b"):
            render(kind, "es", payload)


def test_a_missing_nested_key_is_a_payload_error() -> None:
    payload = digest_payload(groups=[{"category": "alumbrado", "count": 1,
                                      "items": [{"text": "La farola", "link": LINK}]}])
    with pytest.raises(PayloadError, match="local_time"):
        render("digest", "en", payload)


def test_payload_errors_are_value_errors() -> None:
    assert issubclass(PayloadError, ValueError)


@pytest.mark.parametrize("kind, change, match", [
    ("deliver", {"urgency": "whenever"}, "unknown urgency 'whenever'"),
    ("page", {"step": "later"}, "unknown step 'later'"),
    ("page", {"ack_url": ""}, "empty ack_url"),
])
def test_bad_values(kind: str, change: dict[str, Any], match: str) -> None:
    with pytest.raises(PayloadError, match=match):
        render(kind, "es", {**PAYLOADS[kind], **change})


def test_extra_keys_are_ignored() -> None:
    assert render("test", "en", {"person": "Ana", "extra": 1}).body.startswith("Hello, Ana.")


# -- languages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, expected", [
    ("es", "es"), ("en", "en"), ("EN", "en"), ("en-GB", "en"), ("en_US", "en"),
    ("es-ES", "es"), ("ca", "es"), ("fr", "es"), ("", "es"), ("eng", "es"), (" en ", "en"),
])
def test_language_fallback(lang: str, expected: str) -> None:
    assert resolve_language(lang) == expected
    assert render("test", lang, {"person": "Ana"}) == render("test", expected,
                                                             {"person": "Ana"})


def test_an_unknown_language_gets_spanish() -> None:
    assert render("test", "de", {"person": "Ana"}).body.startswith("Hola, Ana.")


# -- the flag link -------------------------------------------------------------------------------

FLAG_WORDS = {"es": "¿Es un mensaje abusivo?", "en": "Abusive?"}
FLAG_VERB = {"es": "Márcalo", "en": "Flag it"}
LONG_STYLES = {name: style for name, style in STYLES.items() if style.max_body is None}
MESSAGE_KINDS = ["deliver", "page", "digest"]


@pytest.mark.parametrize("style_name", sorted(LONG_STYLES))
@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_every_message_notification_carries_its_flag_link(kind: str, lang: str,
                                                          style_name: str) -> None:
    style = LONG_STYLES[style_name]
    body = render(kind, lang, PAYLOADS[kind], style).body
    # The digest's third item has no flag link (a storm notice, an old row): no line.
    expected = 2 if kind == "digest" else 1
    assert body.count(FLAG_URL) == expected
    assert body.count(FLAG_WORDS[lang]) == expected and FLAG_VERB[lang] in body
    if style.format == "html":
        assert body.count(f'href="{FLAG_URL}"') == expected
    elif style.format == "markdown":
        assert f"]({FLAG_URL})" in body
        assert markdown_shown(body).count(f'href="{FLAG_URL}"') == expected
    else:
        assert f"{FLAG_WORDS[lang]} {FLAG_VERB[lang]}: {FLAG_URL}" in body


def _without_flag(kind: str) -> list[dict[str, Any]]:
    """The kind's payload without a flag link: the key missing (a row written before flags
    existed), and null (no signer)."""
    if kind == "digest":
        payload = digest_payload()
        return [{**payload, "groups": [
            {**g, "items": [({k: v for k, v in i.items() if k != "flag_url"} if drop else
                             {**i, "flag_url": None}) for i in g["items"]]}
            for g in payload["groups"]]} for drop in (True, False)]
    payload = PAYLOADS[kind]
    return [{k: v for k, v in payload.items() if k != "flag_url"}, {**payload, "flag_url": None}]


@pytest.mark.parametrize("style_name", sorted(STYLES))
@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_without_a_flag_link_there_is_no_flag_line(kind: str, lang: str,
                                                   style_name: str) -> None:
    for payload in _without_flag(kind):
        body = render(kind, lang, payload, STYLES[style_name]).body
        assert "/flag/" not in body and "None" not in body
        assert FLAG_WORDS[lang] not in body and FLAG_VERB[lang] not in body


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("kind", ["deliver", "page"])
def test_a_short_body_has_the_flag_link_only_beside_the_whole_text(kind: str, lang: str
                                                                   ) -> None:
    kept = ACK_URL if kind == "page" else LINK
    # An SMS has no room for it: the body is what it was without one.
    sms = render(kind, lang, PAYLOADS[kind], SMS).body
    assert FLAG_URL not in sms
    assert sms == render(kind, lang, {**PAYLOADS[kind], "flag_url": None}, SMS).body
    # Room for everything: the flag link is there, before the link the body keeps last.
    roomy = ChannelStyle("text", 400, False)
    body = render(kind, lang, PAYLOADS[kind], roomy).body
    assert FLAG_URL in body and PAYLOADS[kind]["text"] in body
    assert len(body) <= 400 and body.endswith(kept)
    assert body.index(FLAG_URL) < body.index(kept)
    # A text that would have to be cut to make room for it: the text stays whole.
    text = "La farola de la calle Real no funciona y el cruce está a oscuras " * 4
    body = render(kind, lang, {**PAYLOADS[kind], "text": text}, roomy).body
    assert FLAG_URL not in body and " ".join(text.split()) in body
    assert len(body) <= 400 and body.endswith(kept)


# -- short channels ------------------------------------------------------------------------------

def test_short_page_reads_like_a_pager() -> None:
    body = render("page", "en", page_payload(), SMS).body
    assert body == ("URGENT alumbrado: A cable fell on the road\n"
                    f"Reply ACK 12-4f9a2b or ack: {ACK_URL}")
    assert len(body) <= 160


def test_short_page_truncates_the_text_first() -> None:
    text = "La farola de la calle Real no funciona y el cruce está a oscuras " * 5
    body = render("page", "es", page_payload(text=text), SMS).body
    assert len(body) <= 160
    assert body.endswith(ACK_URL)
    first = body.split("\n")[0]
    assert first.startswith("URGENTE alumbrado: La farola de la calle Real")
    assert first.endswith("…")


def test_short_page_drops_the_reply_code_before_the_text() -> None:
    body = render("page", "en", page_payload(text="A cable fell on the road " * 10),
                  ChannelStyle("text", 130, False)).body
    assert len(body) <= 130
    assert body.endswith(f"\nAck: {ACK_URL}")
    assert "ACK 12-4f9a2b" not in body
    assert "A cable fell" in body


def test_short_page_with_a_long_category_keeps_the_link() -> None:
    body = render("page", "es", page_payload(category="alumbrado " * 30), SMS).body
    assert len(body) <= 160 and body.endswith(ACK_URL)


def test_an_ack_url_longer_than_the_channel_is_sent_alone() -> None:
    url = "https://guardian.example.org/ack/" + "x" * 200
    assert render("page", "en", page_payload(ack_url=url), SMS).body == url


def test_short_with_a_title() -> None:
    rendered = render("page", "es", page_payload(), ChannelStyle("text", 300, True))
    assert rendered.title == "URGENTE · alumbrado (emergencia)"
    assert ACK_URL in rendered.body and len(rendered.body) <= 300


def test_short_text_is_one_line() -> None:
    body = render("deliver", "es", deliver_payload(text="una\n\nfarola\n  rota"), SMS).body
    assert body.split("\n")[0].endswith("una farola rota")


def test_short_deliver_keeps_its_link() -> None:
    body = render("deliver", "en", deliver_payload(text="x" * 500), SMS).body
    assert len(body) <= 160 and body.endswith(LINK)


def test_short_without_a_link_is_cut_at_the_end() -> None:
    rendered = render("admin_alert", "en", {**PAYLOADS["admin_alert"], "error": "e " * 200},
                      SMS)
    assert len(rendered.body) == 160 and rendered.body.endswith("…")


LANGS = st.sampled_from(["es", "en"])
TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
                 min_size=10, max_size=60)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=600), category=st.text(max_size=40), token=TOKENS,
       max_body=st.integers(min_value=120, max_value=400), lang=LANGS,
       has_title=st.booleans(), reply=st.text(max_size=30))
def test_short_page_keeps_the_ack_url_within_the_limit(
        text: str, category: str, token: str, max_body: int, lang: str, has_title: bool,
        reply: str) -> None:
    ack_url = f"https://guardian.example.org/ack/{token}"
    payload = page_payload(text=text, category=category, ack_url=ack_url, reply_code=reply)
    body = render("page", lang, payload, ChannelStyle("text", max_body, has_title)).body
    assert len(body) <= max_body
    assert body.endswith(ack_url)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=600), category=st.text(max_size=40), token=TOKENS,
       max_body=st.integers(min_value=120, max_value=600), lang=LANGS,
       has_title=st.booleans())
def test_short_deliver_keeps_its_link_within_the_limit_with_or_without_the_flag(
        text: str, category: str, token: str, max_body: int, lang: str,
        has_title: bool) -> None:
    flag_url = f"https://guardian.example.org/flag/{token}"
    payload = deliver_payload(text=text, category=category, flag_url=flag_url)
    body = render("deliver", lang, payload, ChannelStyle("text", max_body, has_title)).body
    assert len(body) <= max_body
    assert body.endswith(LINK)
    if flag_url in body:  # only beside the whole text
        assert render_module._one_line(render_module._clean(text)) in body


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=600), token=TOKENS, lang=LANGS,
       fmt=st.sampled_from(["text", "markdown", "html"]), has_title=st.booleans())
def test_long_page_bodies_keep_the_ack_url(text: str, token: str, lang: str, fmt: str,
                                           has_title: bool) -> None:
    ack_url = f"https://guardian.example.org/ack/{token}"
    style = ChannelStyle(fmt, None, has_title)  # type: ignore[arg-type]
    assert ack_url in render("page", lang, page_payload(text=text, ack_url=ack_url),
                             style).body


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=200), max_size=5),
       categories=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=8),
       max_body=st.integers(min_value=120, max_value=400), lang=LANGS)
def test_short_digest_keeps_its_link_within_the_limit(
        texts: list[str], categories: list[str], max_body: int, lang: str) -> None:
    items = [{"text": t, "local_time": "22:48", "link": LINK, "urgency": "normal",
              "shielded": False} for t in texts]
    groups = [{"category": c, "count": 3, "items": items} for c in categories]
    more = digest_payload()["more_link"]
    body = render("digest", lang, digest_payload(groups=groups, count=3 * len(groups)),
                  ChannelStyle("text", max_body, False)).body
    assert len(body) <= max_body
    assert body.endswith(more)


@pytest.mark.parametrize("body, limit, keep, expected", [
    ("short", 10, None, "short"),
    ("a long body here", 10, None, "a long bo…"),
    ("text text text\nAck: URL", 18, "URL", "text tex…\nAck: URL"),
    ("text text text\nAck: URL", 10, "URL", "…\nAck: URL"),
    ("text text text\nAck: URL", 9, "URL", "text… URL"),
    ("text text text\nAck: URL", 8, "URL", "tex… URL"),
    ("text\nAck: URL", 2, "URL", "URL"),
])
def test_fit(body: str, limit: int, keep: str | None, expected: str) -> None:
    assert render_module._fit(body, limit, keep) == expected


# -- channel styles from apprise plugins ---------------------------------------------------------

def plugin(url: str) -> object:
    instance = apprise.Apprise.instantiate(url, suppress_exceptions=False)
    assert instance is not None
    return instance


def test_style_of_a_json_webhook() -> None:
    assert ChannelStyle.of_plugin(plugin("json://127.0.0.1:9/x")) == ChannelStyle(
        "text", None, True)


def test_style_of_email() -> None:
    style = ChannelStyle.of_plugin(
        plugin("mailto://127.0.0.1:2525/?from=a@b.test&to=c@d.test"))
    assert style == ChannelStyle("html", None, True)


@pytest.mark.parametrize("url", [
    "twilio://AC0123456789abcdef0123456789abcdef:0123456789abcdef0123456789abcdef"
    "@+15551234567/+15557654321",
    "sns://AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY/eu-west-1/+34600000000",
])
def test_style_of_sms(url: str) -> None:
    assert ChannelStyle.of_plugin(plugin(url)) == ChannelStyle("text", 160, False)


def test_style_of_a_markdown_chat_and_a_format_override() -> None:
    assert ChannelStyle.of_plugin(plugin(
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general")).format == "markdown"
    assert ChannelStyle.of_plugin(plugin("json://127.0.0.1:9/x?format=html")).format == "html"


def test_style_of_a_plain_object() -> None:
    class Old:
        notify_format = ("markdown", "text")
        body_maxlen = 500
        title_maxlen = 0

    class Bare:
        pass

    assert ChannelStyle.of_plugin(Old()) == ChannelStyle("markdown", 500, False)
    assert ChannelStyle.of_plugin(Bare()) == ChannelStyle("text", None, True)


def test_a_page_for_an_sms_plugin_fits_it() -> None:
    sms = plugin("twilio://AC0123456789abcdef0123456789abcdef:0123456789abcdef0123456789abcdef"
                 "@+15551234567/+15557654321")
    rendered = render("page", "es", page_payload(text="La farola " * 40),
                      ChannelStyle.of_plugin(sms))
    assert rendered.title == ""
    assert len(rendered.body) <= 160 and rendered.body.endswith(ACK_URL)
