"""Replying to a citizen on Bluesky, over plain XRPC (https://docs.bsky.app/docs/api/):

1. `POST /xrpc/com.atproto.server.createSession` `{identifier, password}` → `accessJwt`, `did`
   (an app password, never the account's own).
2. `GET /xrpc/app.bsky.feed.getPosts?uris=<parent>` → the parent's `cid`, and its
   `record.reply.root` when the parent is itself a reply: a reply names the thread's root
   and its direct parent, each as a strong reference (`uri` + `cid`).
3. `POST /xrpc/com.atproto.repo.createRecord` `{repo: did, collection: "app.bsky.feed.post",
   record: {"$type", "text", "createdAt", "langs", "reply": {"root", "parent"}}}`.

`post_bluesky_reply` never raises for network or HTTP failures: it answers (the status of the
last call, or 0 when Bluesky could not be reached; an error sentence or None). A parent that
getPosts no longer returns (deleted, or its author blocked the town) is (404, "the post is
gone"). The sentences never hold the app password nor the session's tokens.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from typing import Any

import aiohttp

POST_TYPE = "app.bsky.feed.post"
# app.bsky.feed.post's `text`: maxGraphemes 300 and maxLength 3000 (UTF-8 bytes).
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
ELLIPSIS = "…"
GONE = "the post is gone"
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$")
_ERROR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
# Answers with these statuses carry no usable body for us: an unreadable 2xx is treated as
# a bad gateway (retried later), not as success.
_UNREADABLE = 502

_ZWJ = "\u200d"
_ZWNJ = "\u200c"


class _Failed(Exception):
    """A call that did not succeed: the status to report and the sentence. Never escapes."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(status, error)
        self.status = status
        self.error = error


def _extends(char: str) -> bool:
    """Whether `char` always joins the grapheme before it (UAX #29 rule GB9: Extend and ZWJ).

    Only code points that are Extend in every Unicode version are counted: nonspacing and
    enclosing marks (Mn, Me: Grapheme_Extend), ZWJ, ZWNJ, emoji skin-tone modifiers and tag
    characters. The joins this leaves out (spacing marks, emoji ZWJ sequences, flag pairs,
    Hangul jamo, CR LF) make `_clusters` count more graphemes than Bluesky does, never fewer.
    """
    code = ord(char)
    return (unicodedata.category(char) in ("Mn", "Me") or char in (_ZWJ, _ZWNJ)
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F)


def _clusters(text: str) -> list[str]:
    """`text` in pieces that each lie within one grapheme cluster: never fewer pieces than
    Bluesky's grapheme count, and every cluster boundary is a piece boundary."""
    pieces: list[str] = []
    for char in text:
        # GB4: nothing joins a control character (a mark after a newline stands alone).
        if pieces and _extends(char) and unicodedata.category(pieces[-1][-1]) != "Cc":
            pieces[-1] += char
        else:
            pieces.append(char)
    return pieces


def _is_regional_indicator(piece: str) -> bool:
    return len(piece) == 1 and 0x1F1E6 <= ord(piece) <= 0x1F1FF


def fit(text: str) -> str:
    """`text` as a Bluesky post takes it: at most 300 graphemes and 3000 bytes.

    A longer post is refused outright by the PDS (400 InvalidRecord), and the citizen would
    get no answer at all; better a reply cut short, with an ellipsis to show it was cut. The
    count is deliberately pessimistic (see `_extends`), so a cut text is always accepted; the
    cut falls between pieces, never inside a combining sequence, and backs off an unfinished
    emoji ZWJ sequence or half a flag so no broken glyph is left before the ellipsis.
    """
    pieces = _clusters(text)
    if len(pieces) <= MAX_GRAPHEMES and len(text.encode()) <= MAX_BYTES:
        return text
    budget = MAX_BYTES - len(ELLIPSIS.encode())
    kept: list[str] = []
    size = 0
    for piece in pieces[:MAX_GRAPHEMES - 1]:
        size += len(piece.encode())
        if size > budget:
            break
        kept.append(piece)
    while kept and kept[-1].endswith(_ZWJ):
        kept.pop()   # the emoji sequence it was joining goes on past the cut
    trailing = 0
    while trailing < len(kept) and _is_regional_indicator(kept[len(kept) - 1 - trailing]):
        trailing += 1
    if trailing % 2:
        kept.pop()   # the first half of a flag
    return "".join(kept).rstrip() + ELLIPSIS


def _now() -> str:
    """createdAt as ATProto writes it: UTC, milliseconds, a Z."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _strong_ref(value: object) -> dict[str, str] | None:
    if isinstance(value, dict) and isinstance(value.get("uri"), str) \
            and str(value["uri"]).startswith("at://") and isinstance(value.get("cid"), str) \
            and value["cid"]:
        return {"uri": value["uri"], "cid": value["cid"]}
    return None


class _Xrpc:
    """The calls of one reply; every failure becomes `_Failed` with a sentence free of the
    password and the tokens."""

    def __init__(self, http: aiohttp.ClientSession, service: str, secrets: list[str]) -> None:
        self.http = http
        self.service = service.rstrip("/")
        self.secrets = secrets
        self.status = 0   # of the last answer

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    async def call(self, method: str, nsid: str, *, token: str | None = None,
                   params: dict[str, str] | None = None,
                   body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self.http.request(method, f"{self.service}/xrpc/{nsid}", params=params,
                                         json=body, headers=headers) as response:
                status = self.status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The exception's text may hold the URL; its type is enough.
            raise _Failed(0, f"Bluesky could not be reached ({nsid}: "
                             f"{type(exc).__name__})") from None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = None
        if 200 <= status < 300:
            if not isinstance(data, dict):
                raise _Failed(_UNREADABLE, f"Bluesky's answer to {nsid} is not JSON")
            return data
        raise _Failed(status, self._sentence(status, nsid, data if isinstance(data, dict)
                                             else {}))

    def _sentence(self, status: int, nsid: str, data: dict[str, Any]) -> str:
        error = data.get("error")
        error = error if isinstance(error, str) and _ERROR_NAME.match(error) else None
        if error == "AuthFactorTokenRequired":
            return ("Bluesky asks for a sign-in code sent by email: the connector needs an "
                    "app password, not the account's own")
        if error == "AccountTakedown":
            return "Bluesky has taken the town's account down"
        if error in ("ExpiredToken", "InvalidToken"):
            return f"Bluesky refused the session's token ({error}) on {nsid}"
        if status == 401 and nsid == "com.atproto.server.createSession":
            return "Bluesky refused the identifier or the app password"
        if status == 401 or error == "AuthenticationRequired":
            return f"Bluesky asked for authentication on {nsid}"
        if status == 429:
            return "Bluesky's rate limit is spent; try again later"
        sentence = f"Bluesky answered {status}" + (f" {error}" if error else "") + f" to {nsid}"
        message = data.get("message")
        if isinstance(message, str) and message.strip():
            sentence += f": {self._clean(' '.join(message.split()))[:200]}"
        return sentence


async def post_bluesky_reply(session: aiohttp.ClientSession, service: str, identifier: str,
                             app_password: str, parent_uri: str, text: str, *,
                             lang: str | None = None) -> tuple[int, str | None]:
    """Reply `text` to the post `parent_uri` (an `at://` URI) as the account `identifier`.

    Returns (the HTTP status of the last call, or 0 when Bluesky could not be reached; an
    error sentence, or None on success). `lang` (BCP 47, e.g. "es"), when valid, becomes the
    post's `langs`.
    """
    if not parent_uri.startswith("at://") or f"/{POST_TYPE}/" not in parent_uri:
        return 400, "not the at:// URI of a Bluesky post"
    secrets = [app_password]
    xrpc = _Xrpc(session, service, secrets)
    try:
        login = await xrpc.call("POST", "com.atproto.server.createSession",
                                body={"identifier": identifier, "password": app_password})
        access, did = login.get("accessJwt"), login.get("did")
        if isinstance(login.get("refreshJwt"), str):
            secrets.append(login["refreshJwt"])
        if not isinstance(access, str) or not access or not isinstance(did, str) or not did:
            return _UNREADABLE, "Bluesky's session lacks accessJwt or did"
        secrets.append(access)

        found = await xrpc.call("GET", "app.bsky.feed.getPosts", token=access,
                                params={"uris": parent_uri})
        posts = found.get("posts")
        post = next((p for p in posts if isinstance(p, dict) and p.get("uri") == parent_uri),
                    None) if isinstance(posts, list) else None
        if post is None:
            return 404, GONE
        parent = _strong_ref(post)
        if parent is None:
            return _UNREADABLE, "Bluesky's view of the post lacks its cid"
        record = post.get("record")
        reply = record.get("reply") if isinstance(record, dict) else None
        # The parent's own root when it is a reply, so the answer stays in the thread.
        root = (_strong_ref(reply.get("root")) if isinstance(reply, dict) else None) or parent

        new: dict[str, Any] = {"$type": POST_TYPE, "text": fit(text), "createdAt": _now(),
                               "reply": {"root": root, "parent": parent}}
        if lang is not None and _LANG.match(lang):
            new["langs"] = [lang]
        await xrpc.call("POST", "com.atproto.repo.createRecord", token=access,
                        body={"repo": did, "collection": POST_TYPE, "record": new})
    except _Failed as failed:
        return failed.status, failed.error
    return xrpc.status, None
