"""Replying on X: `POST /2/tweets` with `reply.in_reply_to_tweet_id`, signed with OAuth 1.0a
in the town account's name (X posts only with a user-context credential; the app's bearer
token that reads mentions cannot post).

The signature is RFC 5849's HMAC-SHA1 over the method, the URL and the sorted OAuth
parameters (a JSON body is not signed), as developer.x.com's "Creating a signature" shows;
`tests/connectors/test_x_reply.py` checks it against the example there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp


@dataclass(frozen=True)
class OAuth1:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_secret: str

    @classmethod
    def parse(cls, value: str) -> OAuth1 | None:
        """`CONSUMER_KEY:CONSUMER_SECRET:ACCESS_TOKEN:ACCESS_SECRET` (one secret, four
        parts), or None when it is not that."""
        parts = value.split(":")
        if len(parts) != 4 or not all(parts):
            return None
        return cls(*parts)


def _pct(value: str) -> str:
    return quote(value, safe="-._~")


def signature(method: str, url: str, params: Mapping[str, str], consumer_secret: str,
              token_secret: str) -> str:
    """RFC 5849 section 3.4: the base string of the request, signed with both secrets."""
    encoded = sorted((_pct(k), _pct(v)) for k, v in params.items())
    normalised = "&".join(f"{k}={v}" for k, v in encoded)
    base = "&".join((method.upper(), _pct(url), _pct(normalised)))
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
                            ).decode()


def authorization(method: str, url: str, credentials: OAuth1, *,
                  nonce: str | None = None, timestamp: int | None = None,
                  query: Mapping[str, str] | None = None) -> str:
    """The `Authorization: OAuth …` header for one request."""
    oauth = {"oauth_consumer_key": credentials.consumer_key,
             "oauth_nonce": nonce or secrets.token_hex(16),
             "oauth_signature_method": "HMAC-SHA1",
             "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
             "oauth_token": credentials.access_token, "oauth_version": "1.0"}
    oauth["oauth_signature"] = signature(method, url, {**oauth, **(query or {})},
                                         credentials.consumer_secret,
                                         credentials.access_secret)
    return "OAuth " + ", ".join(f'{_pct(k)}="{_pct(v)}"' for k, v in sorted(oauth.items()))


async def post_x_reply(session: aiohttp.ClientSession, api: str, credentials: OAuth1,
                       in_reply_to: str, text: str) -> tuple[int, str | None]:
    """(status, error sentence or None); never raises for the network, never shows a
    credential."""
    url = f"{api.rstrip('/')}/2/tweets"
    body = {"text": text[:280], "reply": {"in_reply_to_tweet_id": in_reply_to}}
    try:
        async with session.post(url, json=body, headers={
                "Authorization": authorization("POST", url, credentials)}) as response:
            if response.status < 300:
                return response.status, None
            try:
                detail = (await response.json(content_type=None)).get("detail")
            except (ValueError, AttributeError):
                detail = None
            return response.status, (f"X: {str(detail)[:200]}" if detail else None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return 0, f"X could not be reached ({type(exc).__name__})"
