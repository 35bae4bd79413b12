"""Signed, expiring links carried by notifications (acknowledge a page with one click)."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ACK_SALT = "guardian.ack"
ACK_MAX_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class AckClaim:
    page_id: int
    person: str


class LinkError(Exception):
    """The link is forged, damaged or expired; the message says which, for the person."""


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
                        "or ask for a new page.") from None
    except BadSignature:
        raise LinkError("This acknowledgement link is not valid.") from None
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        raise LinkError("This acknowledgement link is not valid.")
    return AckClaim(page_id=int(data["p"]), person=str(data.get("u", "")))
