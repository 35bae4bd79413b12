"""Signed, expiring links carried by notifications (acknowledge a page with one click; flag
a message as abusive), and the short reply codes a page carries for acknowledging by
replying on the channel."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ACK_SALT = "guardian.ack"
ACK_MAX_AGE_SECONDS = 24 * 3600
FLAG_SALT = "guardian.flag"
# A flag link stays valid longer than an ack link: staff may read a digest days later, and
# saying "this was abusive" is not urgent.
FLAG_MAX_AGE_SECONDS = 30 * 24 * 3600
REPLY_SALT = "guardian.reply"
REPLY_MAC_CHARS = 8
# `12-4f9a2b7c` anywhere in a reply, `ACK` or not: not glued to other letters or digits (a
# phone number or a longer hex string is not a code), dashes that phones substitute allowed.
_REPLY_CODE = re.compile(r"(?<![0-9a-z_-])([0-9]{1,9})\s*[-\u2010-\u2015]\s*"
                         rf"([0-9a-f]{{{REPLY_MAC_CHARS}}})(?![0-9a-z_])",
                         re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class AckClaim:
    page_id: int
    person: str


@dataclass(frozen=True)
class FlagClaim:
    message_id: int
    person: str


class LinkError(Exception):
    """The link is forged, damaged or expired; the message says which, for the person, and
    `kind` (invalid, expired, gone) lets a page say it in the person's language."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=ACK_SALT)


def ack_token(secret: str, page_id: int, person: str) -> str:
    """A token naming the page and the person it was sent to (who acknowledges)."""
    return str(_serializer(secret).dumps({"p": page_id, "u": person}))


def read_ack_token(secret: str, token: str, *, max_age: int = ACK_MAX_AGE_SECONDS
                   ) -> AckClaim:
    try:
        data = _serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("This acknowledgement link has expired; acknowledge in Guardian "
                        "or ask for a new page.", "expired") from None
    except BadSignature:
        raise LinkError("This acknowledgement link is not valid.") from None
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        raise LinkError("This acknowledgement link is not valid.")
    return AckClaim(page_id=int(data["p"]), person=str(data.get("u", "")))


def _flag_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=FLAG_SALT)


def flag_token(secret: str, message_id: int, person: str) -> str:
    """A token naming the message and the person it was sent to (who flags it)."""
    return str(_flag_serializer(secret).dumps({"m": message_id, "u": person}))


def read_flag_token(secret: str, token: str, *, max_age: int = FLAG_MAX_AGE_SECONDS
                    ) -> FlagClaim:
    """The message and person a flag link names; `LinkError` (forged, damaged, expired)
    says why there are none, in a sentence for the person."""
    try:
        data = _flag_serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("This flag link has expired (they last 30 days); flag the message "
                        "in Guardian, or tell a moderator.", "expired") from None
    except BadSignature:
        raise LinkError("This flag link is not valid.") from None
    if (not isinstance(data, dict) or not isinstance(data.get("m"), int)
            or not isinstance(data.get("u"), str) or not data["u"]):
        raise LinkError("This flag link is not valid.")
    return FlagClaim(message_id=int(data["m"]), person=str(data["u"]))


@dataclass(frozen=True)
class FlagLinks:
    """The flag link of a message for one person: `links(message_id, person)` is a URL;
    `links.page(message_id, person)` the message page's.

    What notifications are composed with (`guardian.notify.compose` is given this callable
    and never the secret)."""

    secret: str
    base_url: str

    def __call__(self, message_id: int, person: str) -> str:
        return f"{self.base_url}/flag/{flag_token(self.secret, message_id, person)}"

    def page(self, message_id: int, person: str) -> str:
        """The message page for the person (the same token: the page also flags)."""
        return f"{self.base_url}/m/{flag_token(self.secret, message_id, person)}"


def _reply_mac(secret: str, page_id: int, person: str) -> str:
    message = f"{REPLY_SALT}\n{page_id}\n{person}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return digest[:REPLY_MAC_CHARS]


def reply_code(secret: str, page_id: int, person: str) -> str:
    """The code a page notification carries for `person`, e.g. `ACK 12-4f9a2b7c`: replying
    with it acknowledges the page (the page id, then an HMAC of page and person)."""
    return f"ACK {page_id}-{_reply_mac(secret, page_id, person)}"


def parse_reply(text: str) -> tuple[int, str] | None:
    """The (page id, MAC) of the first reply code in a free-text reply, or None.

    Case does not matter, nor words around the code: "ok ack 12-4f9a2b7c thanks",
    "12-4F9A2B7C" and "Ack 12 - 4f9a2b7c" all give (12, "4f9a2b7c")."""
    found = _REPLY_CODE.search(text)
    if found is None:
        return None
    return int(found.group(1)), found.group(2).lower()


def reply_matches(secret: str, page_id: int, person: str, mac: str) -> bool:
    """Whether `mac` is `person`'s code for the page (compared in constant time)."""
    expected = _reply_mac(secret, page_id, person).encode()
    return hmac.compare_digest(expected, mac.strip().lower().encode())


# A link's credential in a text: the token after /ack/, /flag/, /m/ or /ical/ (up to the next
# blank, quote or bracket), and a page's reply code.
_LINK_TOKEN = re.compile(r"(/(?:ack|flag|ical|m)/)[^\s\"'<>)\]]+")
_SHOWN_REPLY_CODE = re.compile(r"\bACK\s*\d+\s*-\s*[0-9a-fA-F]{4,}\b")


def redact_links(text: str) -> str:
    """`text` without the credentials it carries: acknowledgement, flag and calendar link
    tokens, and reply codes (a delivery body shown to someone other than its recipient,
    an access log line)."""
    return _SHOWN_REPLY_CODE.sub("ACK […]", _LINK_TOKEN.sub(r"\1[…]", text))
