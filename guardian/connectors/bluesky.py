"""Bluesky: the mentions, replies and quotes of the town's account, over plain XRPC.

Documented endpoints (https://docs.bsky.app/docs/api/):

- `POST /xrpc/com.atproto.server.createSession` `{identifier, password}` → `accessJwt`,
  `refreshJwt`, `did`, `handle` (an app password, never the account's own).
- `POST /xrpc/com.atproto.server.refreshSession` with `Authorization: Bearer <refreshJwt>`:
  new tokens when the access token has expired (`400 {"error": "ExpiredToken"}`).
- `GET /xrpc/app.bsky.notification.listNotifications?limit=&cursor=` →
  `{"notifications": [...], "cursor": ...}`, newest first.
- Rate limits: `ratelimit-remaining`, `ratelimit-reset` (epoch seconds), and 429.

listNotifications' own `cursor` pages backwards (older), so it cannot be Guardian's cursor.
Ours is the position of the newest notification seen (`indexedAt` and `uri`): each fetch
pages back from the newest until it reaches that position, then returns the new posts
oldest first. Should the paging stop early (the page bound, or the rate limit spent), the
cursor also carries where to go on and which position to adopt once there, so the next fetch
continues the walk: nothing is lost and nothing comes twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pydantic
from multidict import CIMultiDict

from guardian.connectors.base import (
    Batch,
    ConnectorError,
    NotAuthorised,
    exhausted,
    raise_for_status,
)
from guardian.schemas import AuthorIn, MessageIn

log = logging.getLogger(__name__)

KEPT_REASONS = frozenset({"mention", "reply", "quote"})
POST_TYPE = "app.bsky.feed.post"
MENTION_FACET = "app.bsky.richtext.facet#mention"
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$")
# The XRPC errors that mean "refresh the session and try again".
_STALE_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _parse_time(value: object) -> dt.datetime:
    """An ATProto datetime (RFC 3339, with a zone) as an aware datetime; ValueError else."""
    if not isinstance(value, str):
        raise ValueError(f"not a datetime: {value!r}")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"datetime without a zone: {value!r}")
    return parsed


@dataclass(frozen=True)
class _Position:
    """Where a notification sits in the feed: its `indexedAt` (as sent) and its `uri`."""

    at: str
    uri: str

    @property
    def when(self) -> dt.datetime:
        return _parse_time(self.at)

    def covers(self, at: dt.datetime, uri: str) -> bool:
        """Whether a notification at `at` with `uri` was already seen at this position."""
        mine = self.when
        return at < mine or (at == mine and uri == self.uri)

    def dump(self) -> dict[str, str]:
        return {"at": self.at, "uri": self.uri}


@dataclass(frozen=True)
class _Cursor:
    """Guardian's cursor: `seen`, the newest position handled; during an unfinished walk,
    `newest` (the position to adopt once the walk reaches `seen`) and `page` (the
    listNotifications cursor to continue from)."""

    seen: _Position
    newest: _Position | None = None
    page: str | None = None

    def dump(self) -> str:
        data: dict[str, Any] = self.seen.dump()
        if self.newest is not None and self.page is not None:
            data["newest"] = self.newest.dump()
            data["page"] = self.page
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def load(cls, raw: str) -> _Cursor:
        try:
            data = json.loads(raw)
            seen = _Position(str(data["at"]), str(data["uri"]))
            seen.when  # noqa: B018 - validates the stored time
            newest = None
            if isinstance(data.get("newest"), dict) and isinstance(data.get("page"), str):
                newest = _Position(str(data["newest"]["at"]), str(data["newest"]["uri"]))
                newest.when  # noqa: B018
                return cls(seen, newest, data["page"])
            return cls(seen, newest)
        except (ValueError, TypeError, KeyError) as exc:
            raise ConnectorError(f"bluesky: unreadable cursor {raw[:80]!r}") from exc


@dataclass
class _Session:
    access: str
    refresh: str
    did: str
    handle: str


class BlueskyConnector:
    """Polls a Bluesky account's notifications for the posts addressed to it."""

    def __init__(self, service: str, identifier: str, app_password: str, *,
                 clock: Callable[[], dt.datetime] = _utcnow, page_size: int = 50,
                 max_pages: int = 10, timeout: float = 30.0) -> None:
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be between 1 and 100 (the API's limit)")
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self.service = service.rstrip("/")
        self.identifier = identifier
        self._password = app_password
        self.clock = clock
        self.page_size = page_size
        self.max_pages = max_pages
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: _Session | None = None

    def __repr__(self) -> str:
        # Never the password nor the tokens.
        return f"BlueskyConnector({self.service!r}, {self.identifier!r})"

    @property
    def kind(self) -> str:
        return "bluesky"

    # --- HTTP --------------------------------------------------------------------------

    async def _call(self, http: aiohttp.ClientSession, method: str, nsid: str, *,
                    token: str | None = None, params: dict[str, str] | None = None,
                    body: dict[str, str] | None = None,
                    ) -> tuple[int, dict[str, Any], Mapping[str, str]]:
        """One XRPC call: (status, JSON body, headers); network failures as ConnectorError."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with http.request(method, f"{self.service}/xrpc/{nsid}", params=params,
                                    json=body, headers=headers,
                                    timeout=self.timeout) as response:
                raw = await response.read()
                answer_headers = CIMultiDict(response.headers)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectorError(f"bluesky {nsid}: {type(exc).__name__}: {exc}") from exc
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
            if 200 <= status < 300:
                raise ConnectorError(f"bluesky {nsid}: the answer is not JSON") from None
        return status, data if isinstance(data, dict) else {}, answer_headers

    def _check(self, status: int, data: dict[str, Any], headers: Mapping[str, str],
               nsid: str) -> None:
        if status == 400 and data.get("error") in {"AuthenticationRequired", "AccountTakedown"}:
            raise NotAuthorised(f"bluesky {nsid}: {data.get('error')}")
        raise_for_status(status, headers, self.clock(), f"bluesky {nsid}")

    async def _login(self, http: aiohttp.ClientSession) -> _Session:
        """A new session from the app password (createSession)."""
        nsid = "com.atproto.server.createSession"
        status, data, headers = await self._call(
            http, "POST", nsid, body={"identifier": self.identifier, "password": self._password})
        self._check(status, data, headers, nsid)
        return self._adopt(data, nsid)

    def _adopt(self, data: dict[str, Any], nsid: str) -> _Session:
        try:
            session = _Session(access=str(data["accessJwt"]), refresh=str(data["refreshJwt"]),
                               did=str(data["did"]), handle=str(data["handle"]))
        except KeyError as exc:
            raise ConnectorError(f"bluesky {nsid}: the answer lacks {exc}") from None
        self._session = session
        return session

    async def _renew(self, http: aiohttp.ClientSession, session: _Session) -> _Session:
        """Fresh tokens: refreshSession, or a new session when the refresh token is spent."""
        nsid = "com.atproto.server.refreshSession"
        status, data, headers = await self._call(http, "POST", nsid, token=session.refresh)
        if 200 <= status < 300:
            return self._adopt(data, nsid)
        if status in (400, 401):
            log.info("bluesky: the refresh token was refused (%s); logging in again",
                     data.get("error") or status)
            self._session = None
            return await self._login(http)
        self._check(status, data, headers, nsid)
        raise ConnectorError(f"bluesky {nsid}: HTTP {status}")  # pragma: no cover

    async def _list(self, http: aiohttp.ClientSession, params: dict[str, str],
                    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """One page of listNotifications, refreshing the session once when it has expired."""
        nsid = "app.bsky.notification.listNotifications"
        session = self._session or await self._login(http)
        status, data, headers = await self._call(http, "GET", nsid, token=session.access,
                                                 params=params)
        if status == 401 or (status == 400 and data.get("error") in _STALE_TOKEN_ERRORS):
            session = await self._renew(http, session)
            status, data, headers = await self._call(http, "GET", nsid, token=session.access,
                                                     params=params)
        if status == 400 and data.get("error") in _STALE_TOKEN_ERRORS:
            raise NotAuthorised(f"bluesky {nsid}: {data.get('error')} after a fresh session")
        self._check(status, data, headers, nsid)
        return data, headers

    # --- fetching ----------------------------------------------------------------------

    async def fetch(self, session: aiohttp.ClientSession, cursor: str | None) -> Batch:
        """The posts addressed to the account since `cursor`, oldest first."""
        if cursor is None:
            return await self._start(session)
        state = _Cursor.load(cursor)
        seen = state.seen
        newest = state.newest
        page = state.page
        found: list[dict[str, Any]] = []   # newest first, as listed
        skipped = 0
        pages = 0
        headers: Mapping[str, str] = {}
        while True:
            bounded = pages >= self.max_pages
            if bounded or (pages and exhausted(headers)):
                # Stop the walk here and carry on from `page` next time; when the rate limit
                # is spent, the engine's next poll meets the 429 and waits.
                assert page is not None
                log.info("bluesky: stopped after %d page(s) (%s); continuing on the next fetch",
                         pages, "page bound" if bounded else "rate limit spent")
                messages, bad = self._messages(found)
                return Batch(messages, _Cursor(seen, newest or seen, page).dump(),
                             skipped=skipped + bad, more=bounded)
            params = {"limit": str(self.page_size)}
            if page is not None:
                params["cursor"] = page
            data, headers = await self._list(session, params)
            pages += 1
            notifications = data.get("notifications")
            if not isinstance(notifications, list):
                raise ConnectorError("bluesky listNotifications: no `notifications` list")
            reached = False
            for item in notifications:
                position = self._position(item)
                if position is None:
                    log.warning("bluesky: a notification without uri/indexedAt skipped")
                    skipped += 1
                    continue
                if seen.covers(position.when, position.uri):
                    reached = True
                    break
                if newest is None:
                    newest = position
                found.append(item)
            next_page = data.get("cursor")
            # A short page is the last one: no need to ask for the empty one after it.
            if (reached or len(notifications) < self.page_size
                    or not isinstance(next_page, str) or not next_page):
                break
            page = next_page
        messages, bad = self._messages(found)
        final = _Cursor(newest or seen)
        return Batch(messages, final.dump(), skipped=skipped + bad)

    async def _start(self, http: aiohttp.ClientSession) -> Batch:
        """The first run: the newest notification's position (or now), and no messages."""
        data, _ = await self._list(http, {"limit": "1"})
        notifications = data.get("notifications")
        if not isinstance(notifications, list):
            raise ConnectorError("bluesky listNotifications: no `notifications` list")
        for item in notifications:
            position = self._position(item)
            if position is not None:
                return Batch([], _Cursor(position).dump())
        now = self.clock().astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return Batch([], _Cursor(_Position(now, "")).dump())

    @staticmethod
    def _position(item: object) -> _Position | None:
        if not isinstance(item, dict):
            return None
        uri, at = item.get("uri"), item.get("indexedAt")
        if not isinstance(uri, str) or not isinstance(at, str):
            return None
        try:
            _parse_time(at)
        except ValueError:
            return None
        return _Position(at, uri)

    def _messages(self, found: list[dict[str, Any]]) -> tuple[list[MessageIn], int]:
        """The kept notifications as messages, oldest first; and how many were unreadable."""
        messages: list[MessageIn] = []
        bad = 0
        for item in reversed(found):
            if item.get("reason") not in KEPT_REASONS:
                continue
            try:
                messages.append(self._message(item))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                # pydantic.ValidationError is a ValueError.
                detail = (f"{len(exc.errors())} invalid field(s)"
                          if isinstance(exc, pydantic.ValidationError) else type(exc).__name__)
                log.warning("bluesky: notification %s skipped: %s",
                            str(item.get("uri"))[:200], detail)
                bad += 1
        return messages, bad

    def _message(self, item: dict[str, Any]) -> MessageIn:
        """One mention, reply or quote as a message; raises on a malformed notification."""
        uri = item["uri"]
        author = item["author"]
        record = item["record"]
        if not isinstance(uri, str) or not uri.startswith("at://"):
            raise ValueError("uri")
        if record.get("$type") != POST_TYPE:
            raise ValueError("record is not a post")
        text = record["text"]
        if not isinstance(text, str):
            raise TypeError("text")
        handle = author["handle"]
        if not isinstance(handle, str) or not handle:
            raise ValueError("handle")
        name = author.get("displayName")
        name = name if isinstance(name, str) and name.strip() else None
        parts = uri.removeprefix("at://").split("/")
        url = (f"https://bsky.app/profile/{handle}/post/{parts[2]}"
               if len(parts) == 3 and parts[1] == POST_TYPE else None)
        reply = record.get("reply")
        parent = reply.get("parent") if isinstance(reply, dict) else None
        in_reply_to = parent.get("uri") if isinstance(parent, dict) else None
        langs = record.get("langs")
        lang = langs[0] if isinstance(langs, list) and langs else None
        return MessageIn(
            source=self.kind, external_id=uri,
            author=AuthorIn(handle=f"@{handle}", name=name),
            text=text, created_at=_parse_time(record["createdAt"]),
            mentions=self._mentions(text, record.get("facets")),
            in_reply_to=in_reply_to if isinstance(in_reply_to, str) else None,
            url=url,
            lang=lang if isinstance(lang, str) and _LANG.match(lang) else None)

    def _mentions(self, text: str, facets: object) -> list[str]:
        """The mentioned handles: the town's own account by its DID, the others by the text
        the facet spans (`@handle`); a mention neither names is left out."""
        if not isinstance(facets, list):
            return []
        encoded = text.encode()
        handles: list[str] = []
        for facet in facets:
            if not isinstance(facet, dict):
                continue
            features = facet.get("features")
            for feature in features if isinstance(features, list) else []:
                if not isinstance(feature, dict) or feature.get("$type") != MENTION_FACET:
                    continue
                handle = None
                if self._session is not None and feature.get("did") == self._session.did:
                    handle = f"@{self._session.handle}"
                else:
                    index = facet.get("index")
                    if isinstance(index, dict):
                        start, end = index.get("byteStart"), index.get("byteEnd")
                        if isinstance(start, int) and isinstance(end, int):
                            span = encoded[start:end].decode(errors="replace").strip()
                            if span.startswith("@") and len(span) > 1 and " " not in span:
                                handle = span
                if handle and handle not in handles:
                    handles.append(handle)
        return handles[:50]

