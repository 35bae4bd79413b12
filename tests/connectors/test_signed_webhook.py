"""The generic signed webhook: signatures over timestamp and body, the five-minute window,
secret rotation, and a property: whatever is signed verifies, and any changed byte fails."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardian.connectors.signed_webhook import sign, verify

SECRET = "formularios-del-ayuntamiento"
NOW = 1_780_000_000.0
BODY = b'{"text": "La farola de la calle Real no funciona", "author": "vecina-42"}'


def headers(timestamp: int | str, signature: str) -> dict[str, str]:
    return {"X-Guardian-Timestamp": str(timestamp), "X-Guardian-Signature": signature}


def test_sign_is_the_documented_hmac() -> None:
    expected = hmac.new(SECRET.encode(), b"1780000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_780_000_000, BODY) == "sha256=" + expected


def test_a_signed_request_round_trips() -> None:
    stamp = int(NOW)
    assert verify(SECRET, headers(stamp, sign(SECRET, stamp, BODY)), BODY, NOW) is None
    # Header names are case-insensitive, even in a plain dict.
    lower = {"x-guardian-timestamp": str(stamp),
             "x-guardian-signature": sign(SECRET, stamp, BODY)}
    assert verify(SECRET, lower, BODY, NOW) is None


def test_a_tampered_body_fails() -> None:
    stamp = int(NOW)
    tampered = BODY.replace(b"Real", b"Mayor")
    why = verify(SECRET, headers(stamp, sign(SECRET, stamp, BODY)), tampered, NOW)
    assert why is not None and "signature does not match" in why


def test_a_wrong_secret_fails() -> None:
    stamp = int(NOW)
    why = verify(SECRET, headers(stamp, sign("another-secret", stamp, BODY)), BODY, NOW)
    assert why is not None and "signature" in why


def test_a_timestamp_moved_within_the_window_fails() -> None:
    """The timestamp is signed: a replay cannot refresh it."""
    signature = sign(SECRET, int(NOW) - 10, BODY)
    assert verify(SECRET, headers(int(NOW), signature), BODY, NOW) is not None


@pytest.mark.parametrize(("offset", "word"), [(-301, "old"), (301, "future"),
                                              (-86_400, "old"), (86_400, "future")])
def test_outside_the_window_either_way_fails(offset: int, word: str) -> None:
    stamp = int(NOW) + offset
    why = verify(SECRET, headers(stamp, sign(SECRET, stamp, BODY)), BODY, NOW)
    assert why is not None and word in why


@pytest.mark.parametrize("offset", [-300, 300, 0])
def test_the_edges_of_the_window_pass(offset: int) -> None:
    stamp = int(NOW) + offset
    assert verify(SECRET, headers(stamp, sign(SECRET, stamp, BODY)), BODY, NOW) is None


def test_rotation_accepts_either_of_two_signatures() -> None:
    stamp = int(NOW)
    old, new = sign("old-secret", stamp, BODY), sign("new-secret", stamp, BODY)
    both = headers(stamp, f"{old}, {new}")
    assert verify("old-secret", both, BODY, NOW) is None
    assert verify("new-secret", both, BODY, NOW) is None
    assert verify("third-secret", both, BODY, NOW) is not None
    # A malformed candidate beside a good one does not spoil it.
    assert verify("new-secret", headers(stamp, f"sha256=nonsense,{new}"), BODY, NOW) is None


@pytest.mark.parametrize(("given_headers", "word"), [
    ({}, "X-Guardian-Timestamp"),
    ({"X-Guardian-Signature": sign(SECRET, int(NOW), BODY)}, "X-Guardian-Timestamp"),
    ({"X-Guardian-Timestamp": str(int(NOW))}, "X-Guardian-Signature"),
    ({"X-Guardian-Timestamp": "", "X-Guardian-Signature": "sha256=00"}, "integer"),
    ({"X-Guardian-Timestamp": "1780000000.5", "X-Guardian-Signature": "x"}, "integer"),
    ({"X-Guardian-Timestamp": "1_780_000_000", "X-Guardian-Signature": "x"}, "integer"),
    ({"X-Guardian-Timestamp": "yesterday", "X-Guardian-Signature": "x"}, "integer"),
    ({"X-Guardian-Timestamp": str(int(NOW)), "X-Guardian-Signature": " , "}, "empty"),
    ({"X-Guardian-Timestamp": str(int(NOW)), "X-Guardian-Signature": "md5=abc"},
     "does not match"),
])
def test_missing_or_malformed_headers_say_why(given_headers: dict[str, str],
                                              word: str) -> None:
    why = verify(SECRET, given_headers, BODY, NOW)
    assert why is not None and word in why
    assert why.endswith(".") and SECRET not in why


def test_an_empty_secret_verifies_nothing() -> None:
    stamp = int(NOW)
    assert verify("", headers(stamp, sign("", stamp, BODY)), BODY, NOW) is not None


@given(body=st.binary(max_size=2048), skew=st.integers(min_value=-300, max_value=300),
       secret=st.text(st.characters(codec="utf-8"), min_size=1, max_size=64),
       data=st.data())
def test_any_signed_body_verifies_and_any_flipped_byte_fails(
        body: bytes, skew: int, secret: str, data: st.DataObject) -> None:
    stamp = int(NOW) + skew
    sent = headers(stamp, sign(secret, stamp, body))
    assert verify(secret, sent, body, NOW) is None
    if body:
        index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="index")
        flip = data.draw(st.integers(min_value=1, max_value=255), label="xor")
        changed = bytearray(body)
        changed[index] ^= flip
        assert verify(secret, sent, bytes(changed), NOW) is not None
