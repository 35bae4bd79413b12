"""WhatsApp Cloud API webhooks: the subscription handshake, the signature, the payload.

Pure functions (no I/O, no clock): the web layer hands them the request's query, headers
and body. Documented at https://developers.facebook.com/docs/graph-api/webhooks/getting-started
(the `hub.*` verification request and `X-Hub-Signature-256`) and
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components (the
`whatsapp_business_account` payload, its `messages`, `contacts` and `statuses`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any

from guardian.schemas import AuthorIn, MessageIn

log = logging.getLogger(__name__)

SOURCE = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Message types whose text is a caption (https://developers.facebook.com/docs/whatsapp/
# cloud-api/webhooks/components#messages-object); the others carry nothing to read.
_CAPTIONED = ("image", "video", "document")


def verify_subscription(query: Mapping[str, str], verify_token: str) -> str | None:
    """The answer to Meta's GET handshake when subscribing the webhook: `hub.challenge`
    when the mode is `subscribe` and `hub.verify_token` is ours, else None (answer 403).
    An empty configured token verifies nothing."""
    given = query.get("hub.verify_token")
    challenge = query.get("hub.challenge")
    if (not verify_token or query.get("hub.mode") != "subscribe" or given is None
            or challenge is None):
        return None
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return challenge


def signature_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether `X-Hub-Signature-256` (`sha256=<hex>`) is the HMAC-SHA256 of the raw body
    with the app secret: only Meta knows it, so only Meta can have sent the payload."""
    if not app_secret or header is None:
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(match.group(1).lower().encode(), expected.encode())


def _names(value: dict[str, Any]) -> dict[str, str]:
    """Profile names by `wa_id`, from the change's `contacts`."""
    names: dict[str, str] = {}
    contacts = value.get("contacts")
    for contact in contacts if isinstance(contacts, list) else []:
        if not isinstance(contact, dict):
            continue
        profile, wa_id = contact.get("profile"), contact.get("wa_id")
        name = profile.get("name") if isinstance(profile, dict) else None
        if isinstance(wa_id, str) and isinstance(name, str) and name.strip():
            names[wa_id] = name.strip()[:256]
    return names


def _text(message: dict[str, Any]) -> str | None:
    """The readable text: a text message's body or a captioned media's caption. Raises
    when a text message has no body (malformed); None for the rest (stickers, audio...)."""
    kind = message.get("type")
    if kind == "text":
        body = message["text"]["body"]
        if not isinstance(body, str):
            raise TypeError("text.body is not a string")
        return body
    if kind in _CAPTIONED:
        media = message.get(kind)
        caption = media.get("caption") if isinstance(media, dict) else None
        return caption if isinstance(caption, str) and caption.strip() else None
    return None


def _message(message: Any, names: dict[str, str]) -> MessageIn | None:
    """One webhook message as a MessageIn; None when it has no text. Raises if malformed."""
    if not isinstance(message, dict):
        raise TypeError("a message is not an object")
    sender, wamid, timestamp = message["from"], message["id"], message["timestamp"]
    if not (isinstance(sender, str) and sender and isinstance(wamid, str) and wamid):
        raise TypeError("from and id must be non-empty strings")
    if not isinstance(timestamp, str | int) or isinstance(timestamp, bool):
        raise TypeError("timestamp must be epoch seconds")
    text = _text(message)
    if text is None:
        return None
    context = message.get("context")
    reply = context.get("id") if isinstance(context, dict) else None
    return MessageIn(
        source=SOURCE,
        external_id=wamid,
        # The phone number is personal data, kept only as a handle is: the retention
        # policy pseudonymises it with the message like any author handle.
        author=AuthorIn(handle=f"+{sender.lstrip('+')}", name=names.get(sender)),
        text=text,
        created_at=dt.datetime.fromtimestamp(int(timestamp), dt.UTC),
        in_reply_to=reply if isinstance(reply, str) and reply else None,
        url=None,
        lang=None,
    )


def messages_from_webhook(payload: dict[str, Any]) -> tuple[list[MessageIn], int]:
    """The messages in one webhook notification and how many were malformed. Changes that
    only report delivery statuses, other fields, and messages without text (stickers,
    audio, locations, reactions) give nothing and are not malformed."""
    if not isinstance(payload, dict):
        log.warning("whatsapp: a notification that is not an object was skipped")
        return [], 1
    if payload.get("object") != "whatsapp_business_account":
        return [], 0  # another product's notification: nothing for us
    if not isinstance(payload.get("entry"), list):
        log.warning("whatsapp: a notification without an `entry` list was skipped")
        return [], 1
    found: list[MessageIn] = []
    malformed = 0
    for entry in payload["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            malformed += 1
            continue
        for change in changes:
            if not isinstance(change, dict):
                malformed += 1
                continue
            if change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                malformed += 1
                continue
            messages = value.get("messages", [])
            if not isinstance(messages, list):
                malformed += 1
                continue
            names = _names(value)
            for raw in messages:
                try:
                    message = _message(raw, names)
                except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
                    # ValueError covers pydantic's ValidationError; the text is not logged.
                    log.warning("whatsapp: malformed message skipped: %s", type(exc).__name__)
                    malformed += 1
                    continue
                if message is not None:
                    found.append(message)
    # Meta sends a change's messages in order; across changes, order by time.
    found.sort(key=lambda m: m.created_at)
    return found, malformed
