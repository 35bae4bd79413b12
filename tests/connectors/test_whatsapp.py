"""WhatsApp Cloud API webhooks: the subscription handshake, `X-Hub-Signature-256` (computed
here with hmac, independently of the module) and the mapping of documented payloads."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest

from guardian.connectors.whatsapp import (
    messages_from_webhook,
    signature_valid,
    verify_subscription,
)

APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "ayuntamiento-verify-token"


def payload(*messages: dict[str, Any], statuses: list[dict[str, Any]] | None = None,
            contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A notification as the Cloud API documents it, with these messages."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000000", "phone_number_id": "1098765"},
    }
    if messages:
        value["contacts"] = contacts if contacts is not None else [
            {"profile": {"name": "Carmen Ruiz"}, "wa_id": "34600111222"}]
        value["messages"] = list(messages)
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA_ID", "changes": [{"field": "messages", "value": value}]}]}


def text_message(body: str, wamid: str = "wamid.HBgLMzQ2MDAxMTEyMjIVAgA=",
                 sender: str = "34600111222", timestamp: str = "1780000000",
                 **extra: Any) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": timestamp, "type": "text",
            "text": {"body": body}, **extra}


def hub_signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- the handshake ----------------------------------------------------------------------

def test_the_subscription_handshake_returns_the_challenge() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
             "hub.challenge": "1158201444"}
    assert verify_subscription(query, VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize("change", [
    {"hub.verify_token": "another-token"},
    {"hub.mode": "unsubscribe"},
    {"hub.verify_token": None},
    {"hub.challenge": None},
    {"hub.mode": None},
])
def test_a_wrong_handshake_is_refused(change: dict[str, str | None]) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
             "hub.challenge": "1158201444"}
    for key, value in change.items():
        if value is None:
            del query[key]
        else:
            query[key] = value
    assert verify_subscription(query, VERIFY_TOKEN) is None


def test_an_empty_configured_token_verifies_nothing() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert verify_subscription(query, "") is None


# --- the signature ----------------------------------------------------------------------

def test_a_signature_over_the_raw_body_is_valid() -> None:
    body = json.dumps(payload(text_message("Hola, ¿está abierta la piscina?"))).encode()
    assert signature_valid(body, hub_signature(body), APP_SECRET)
    assert signature_valid(body, hub_signature(body).upper().replace("SHA256=", "sha256="),
                           APP_SECRET)


def test_an_invalid_signature_is_refused() -> None:
    body = json.dumps(payload(text_message("Hola, ¿está abierta la piscina?"))).encode()
    assert not signature_valid(body, hub_signature(body, "another-secret"), APP_SECRET)
    assert not signature_valid(body + b" ", hub_signature(body), APP_SECRET)
    # Re-serialised JSON is not the raw body Meta signed.
    assert not signature_valid(json.dumps(json.loads(body), indent=1).encode(),
                               hub_signature(body), APP_SECRET)
    assert not signature_valid(body, hub_signature(body), "")


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha1=" + "0" * 40, "sha256=" + "z" * 64, "sha256=" + "a" * 63,
    "sha256=" + "a" * 65, "SHA256", "sha256=é" + "a" * 63,
])
def test_a_missing_or_malformed_signature_is_refused(header: str | None) -> None:
    assert not signature_valid(b'{"object":"whatsapp_business_account"}', header, APP_SECRET)


# --- the payload ------------------------------------------------------------------------

def test_a_text_message_is_mapped_field_by_field() -> None:
    reply = text_message("La farola de la calle Real no funciona",
                         context={"from": "34910000000", "id": "wamid.ORIGINAL"})
    messages, malformed = messages_from_webhook(payload(reply))
    assert malformed == 0
    (message,) = messages
    assert message.source == "whatsapp"
    assert message.external_id == "wamid.HBgLMzQ2MDAxMTEyMjIVAgA="
    assert message.author.handle == "+34600111222"
    assert message.author.name == "Carmen Ruiz"
    assert message.text == "La farola de la calle Real no funciona"
    assert message.created_at == dt.datetime.fromtimestamp(1_780_000_000, dt.UTC)
    assert message.in_reply_to == "wamid.ORIGINAL"
    assert message.lang is None and message.url is None and message.mentions == []


def test_the_name_is_the_senders_own_and_absent_without_a_contact() -> None:
    messages, _ = messages_from_webhook(payload(
        text_message("Primero", wamid="wamid.1", sender="34600111222"),
        text_message("Segundo", wamid="wamid.2", sender="34600999888", timestamp="1780000001"),
        contacts=[{"profile": {"name": "Carmen Ruiz"}, "wa_id": "34600111222"}]))
    assert [(m.author.handle, m.author.name) for m in messages] == [
        ("+34600111222", "Carmen Ruiz"), ("+34600999888", None)]


def test_a_statuses_only_change_gives_nothing() -> None:
    statuses = [{"id": "wamid.SENT", "status": "delivered", "timestamp": "1780000000",
                 "recipient_id": "34600111222"}]
    assert messages_from_webhook(payload(statuses=statuses)) == ([], 0)


def test_an_image_gives_its_caption_and_other_media_nothing() -> None:
    image = {"from": "34600111222", "id": "wamid.IMG", "timestamp": "1780000000",
             "type": "image", "image": {"caption": "El bache de la plaza Mayor",
                                        "mime_type": "image/jpeg", "id": "MEDIA_ID"}}
    bare = {**image, "id": "wamid.IMG2", "image": {"mime_type": "image/jpeg", "id": "M2"}}
    sticker = {"from": "34600111222", "id": "wamid.STK", "timestamp": "1780000000",
               "type": "sticker", "sticker": {"id": "STICKER_ID"}}
    audio = {"from": "34600111222", "id": "wamid.AUD", "timestamp": "1780000000",
             "type": "audio", "audio": {"id": "AUDIO_ID"}}
    messages, malformed = messages_from_webhook(payload(image, bare, sticker, audio))
    assert malformed == 0
    assert [(m.external_id, m.text) for m in messages] == [
        ("wamid.IMG", "El bache de la plaza Mayor")]


def test_malformed_messages_are_counted_and_the_rest_kept() -> None:
    good = text_message("Gracias por arreglar el parque", wamid="wamid.GOOD")
    broken: list[Any] = [
        {k: v for k, v in good.items() if k != "from"} | {"id": "wamid.NOFROM"},
        good | {"id": "wamid.BADTIME", "timestamp": "ayer"},
        good | {"id": "wamid.NOBODY", "text": {}},
        good | {"id": ""},
        "not an object",
    ]
    messages, malformed = messages_from_webhook(payload(good, *broken))
    assert [m.external_id for m in messages] == ["wamid.GOOD"]
    assert malformed == 5


def test_malformed_notifications_are_counted() -> None:
    good = payload(text_message("Hola"))
    no_changes = copy.deepcopy(good)
    no_changes["entry"][0]["changes"] = "nonsense"
    bad_value = copy.deepcopy(good)
    bad_value["entry"][0]["changes"][0]["value"] = None
    assert messages_from_webhook(no_changes) == ([], 1)
    assert messages_from_webhook(bad_value) == ([], 1)
    assert messages_from_webhook({"object": "whatsapp_business_account"}) == ([], 1)
    assert messages_from_webhook([]) == ([], 1)  # type: ignore[arg-type]
    # Another product's notification, or another field: nothing for us, nothing wrong.
    assert messages_from_webhook({"object": "page", "entry": []}) == ([], 0)
    other_field = copy.deepcopy(good)
    other_field["entry"][0]["changes"][0]["field"] = "account_update"
    assert messages_from_webhook(other_field) == ([], 0)
