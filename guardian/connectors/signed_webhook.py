"""A generic signed webhook, for any system that can compute an HMAC (the town's own forms,
a CRM): `X-Guardian-Timestamp` (epoch seconds) and `X-Guardian-Signature`
(`sha256=<hex>` of HMAC-SHA256 over `"{timestamp}." + body`, as Stripe and Slack sign
theirs: https://docs.stripe.com/webhooks#verify-manually). Signing the timestamp with the
body, and refusing timestamps more than five minutes away, stops a captured request from
being replayed later. Several signatures separated by commas are accepted, so a secret can
be rotated: the sender signs with the old and the new one until every receiver has the new.

Pure: the caller passes `now`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Guardian-Timestamp"
SIGNATURE_HEADER = "X-Guardian-Signature"
TOLERANCE_SECONDS = 300.0
_TIMESTAMP = re.compile(r"\d{1,15}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# More than this many signatures is not a rotation but someone guessing.
_MAX_SIGNATURES = 8


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Guardian-Signature` value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (a plain dict is not case-insensitive)."""
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float,
           tolerance: float = TOLERANCE_SECONDS) -> str | None:
    """None when the request is authentic and fresh, else one sentence saying why not (for
    the 401 answer and the log: it names no secret)."""
    if not secret:
        return "No secret is configured for this webhook, so nothing can be verified."
    raw_time = _header(headers, TIMESTAMP_HEADER)
    if raw_time is None:
        return f"The {TIMESTAMP_HEADER} header is missing."
    raw_signatures = _header(headers, SIGNATURE_HEADER)
    if raw_signatures is None:
        return f"The {SIGNATURE_HEADER} header is missing."
    if not _TIMESTAMP.fullmatch(raw_time.strip()):
        return f"The {TIMESTAMP_HEADER} header is not an integer number of seconds."
    timestamp = int(raw_time.strip())
    if timestamp < now - tolerance:
        return (f"The timestamp is more than {tolerance:g} seconds old: the request may be "
                "a replay, or the sender's clock is behind.")
    if timestamp > now + tolerance:
        return (f"The timestamp is more than {tolerance:g} seconds in the future: the "
                "sender's clock is ahead.")
    given = [s.strip() for s in raw_signatures.split(",") if s.strip()]
    if not given:
        return f"The {SIGNATURE_HEADER} header is empty."
    if len(given) > _MAX_SIGNATURES:
        return f"The {SIGNATURE_HEADER} header has more than {_MAX_SIGNATURES} signatures."
    expected = sign(secret, timestamp, body).removeprefix("sha256=").encode()
    matched = False
    for signature in given:
        match = _SIGNATURE.fullmatch(signature)
        # Every candidate is compared: the time taken says nothing about which one matched.
        candidate = match.group(1).lower().encode() if match else b"0" * len(expected)
        matched |= hmac.compare_digest(candidate, expected) and match is not None
    if not matched:
        return "The signature does not match the body, the timestamp and the secret."
    return None
