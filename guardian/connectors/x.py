"""X (Twitter): the posts that mention the town's account, from the v2 API.

Documented endpoint (https://docs.x.com/x-api/users/get-mentions):
`GET /2/users/:id/mentions` with an app's bearer token, parameters `since_id`, `max_results`
(5 to 100), `pagination_token`, `tweet.fields`, `expansions=author_id`, `user.fields`;
answers `{"data": [...], "includes": {"users": [...]}, "meta": {"newest_id", "oldest_id",
"result_count", "next_token"}}`, newest first. Rate limits: `x-rate-limit-remaining`,
`x-rate-limit-reset` (epoch seconds), and 429.

Guardian's cursor is the newest post id handled (`since_id` next time). `next_token` pages
back towards `since_id`; should the walk stop before it gets there (the page bound, or the
rate limit spent), the cursor also carries the token to go on from and the newest id to
adopt once there (a small JSON object), so the next fetch finishes the walk: nothing is lost
and nothing comes twice. On the first run, a post id made from the clock stands for "now"
when the account has no mentions yet (X ids are time-ordered snowflakes).
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

from guardian.connectors.base import Batch, ConnectorError, exhausted, raise_for_status
from guardian.schemas import AuthorIn, MessageIn

log = logging.getLogger(__name__)

TWEET_FIELDS = ("created_at,lang,author_id,conversation_id,in_reply_to_user_id,"
                "referenced_tweets,entities,note_tweet")
# X's epoch for snowflake ids (2010-11-04T01:42:54.657Z), in milliseconds.
SNOWFLAKE_EPOCH_MS = 1288834974657
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$")
# X's own codes: undetermined, no linguistic content, and its q* pseudo-languages.
_NO_LANG = frozenset({"und", "zxx", "art"})


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def snowflake_at(when: dt.datetime) -> str:
    """The smallest X id that a post made at `when` could have."""
    ms = int(when.timestamp() * 1000)
    return str(max(ms - SNOWFLAKE_EPOCH_MS, 0) << 22)


@dataclass(frozen=True)
class _Cursor:
    """`since`: the newest id handled; during an unfinished walk, `newest` (to adopt once
    the walk reaches `since`) and `token` (the `next_token` to continue from)."""

    since: str
    newest: str | None = None
    token: str | None = None

    def dump(self) -> str:
        if self.newest is None or self.token is None:
            return self.since
        return json.dumps({"since": self.since, "newest": self.newest, "next": self.token},
                          separators=(",", ":"))

    @classmethod
    def load(cls, raw: str) -> _Cursor:
        raw = raw.strip()
        if raw.isdigit():
            return cls(raw)
        try:
            data = json.loads(raw)
            since, newest, token = str(data["since"]), str(data["newest"]), str(data["next"])
        except (ValueError, TypeError, KeyError) as exc:
            raise ConnectorError(f"x: unreadable cursor {raw[:80]!r}") from exc
        if not since.isdigit() or not newest.isdigit():
            raise ConnectorError(f"x: unreadable cursor {raw[:80]!r}")
        return cls(since, newest, token)


class XConnector:
    """Polls the mentions of one X account."""

    def __init__(self, user_id: str, bearer_token: str, *, api: str = "https://api.x.com",
                 clock: Callable[[], dt.datetime] = _utcnow, page_size: int = 100,
                 max_pages: int = 10, timeout: float = 30.0) -> None:
        if not 5 <= page_size <= 100:
            raise ValueError("page_size must be between 5 and 100 (the API's limits)")
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self.user_id = user_id
        self._bearer = bearer_token
        self.api = api.rstrip("/")
        self.clock = clock
        self.page_size = page_size
        self.max_pages = max_pages
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        # Never the bearer token.
        return f"XConnector({self.user_id!r}, api={self.api!r})"

    @property
    def kind(self) -> str:
        # The feed's name in the policy's staff `handles` and in ingest: X was Twitter.
        return "twitter"

    async def _get(self, http: aiohttp.ClientSession, params: dict[str, str],
                   ) -> tuple[int, dict[str, Any], Mapping[str, str]]:
        """One page of mentions: (status, JSON body, headers); network failures raise."""
        url = f"{self.api}/2/users/{self.user_id}/mentions"
        try:
            async with http.get(url, params=params, timeout=self.timeout,
                                headers={"Authorization": f"Bearer {self._bearer}",
                                         "Accept": "application/json"}) as response:
                raw = await response.read()
                headers = CIMultiDict(response.headers)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectorError(f"x mentions: {type(exc).__name__}: {exc}") from exc
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
            if 200 <= status < 300:
                raise ConnectorError("x mentions: the answer is not JSON") from None
        return status, data if isinstance(data, dict) else {}, headers

    def _params(self, max_results: int) -> dict[str, str]:
        return {"max_results": str(max_results), "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id", "user.fields": "username,name"}

    async def fetch(self, session: aiohttp.ClientSession, cursor: str | None) -> Batch:
        """The mentions since `cursor`, oldest first."""
        if cursor is None:
            return await self._start(session)
        state = _Cursor.load(cursor)
        since, newest, token = state.since, state.newest, state.token
        tweets: list[Any] = []
        users: dict[str, dict[str, Any]] = {}
        pages = 0
        headers: Mapping[str, str] = {}
        while True:
            bounded = pages >= self.max_pages
            if token is not None and (bounded or (pages and exhausted(headers))):
                # Stop the walk; the cursor says where to go on. When the rate limit is
                # spent, the engine's next poll meets the 429 and waits.
                log.info("x: stopped after %d page(s) (%s); continuing on the next fetch",
                         pages, "page bound" if bounded else "rate limit spent")
                messages, skipped = self._messages(tweets, users)
                return Batch(messages, _Cursor(since, newest or since, token).dump(),
                             skipped=skipped, more=bounded)
            params = self._params(self.page_size) | {"since_id": since}
            if token is not None:
                params["pagination_token"] = token
            status, data, headers = await self._get(session, params)
            if status == 400 and token is not None and not pages:
                # A stale pagination token: walk again from the newest (ingest is
                # idempotent, so posts already taken are not stored twice).
                log.warning("x: the stored pagination token was refused; walking again")
                token, newest = None, None
                continue
            raise_for_status(status, headers, self.clock(), "x mentions")
            pages += 1
            page, meta = data.get("data", []), data.get("meta", {})
            if not isinstance(page, list) or not isinstance(meta, dict):
                raise ConnectorError("x mentions: `data` is not a list or `meta` not an object")
            tweets.extend(page)
            users.update(self._users(data))
            if newest is None and isinstance(meta.get("newest_id"), str):
                newest = meta["newest_id"]
            next_token = meta.get("next_token")
            if not page or not isinstance(next_token, str) or not next_token:
                break
            token = next_token
        messages, skipped = self._messages(tweets, users)
        return Batch(messages, _Cursor(newest or since).dump(), skipped=skipped)

    async def _start(self, http: aiohttp.ClientSession) -> Batch:
        """The first run: the newest mention's id (or an id for now), and no messages."""
        status, data, headers = await self._get(http, self._params(5))
        raise_for_status(status, headers, self.clock(), "x mentions")
        meta = data.get("meta")
        newest = meta.get("newest_id") if isinstance(meta, dict) else None
        if isinstance(newest, str) and newest.isdigit():
            return Batch([], newest)
        return Batch([], snowflake_at(self.clock()))

    @staticmethod
    def _users(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        includes = data.get("includes")
        users = includes.get("users") if isinstance(includes, dict) else None
        found: dict[str, dict[str, Any]] = {}
        for user in users if isinstance(users, list) else []:
            if isinstance(user, dict) and isinstance(user.get("id"), str):
                found[user["id"]] = user
        return found

    def _messages(self, tweets: list[Any], users: dict[str, dict[str, Any]],
                  ) -> tuple[list[MessageIn], int]:
        """The posts as messages, oldest first (ids are time-ordered); and how many were
        unreadable."""
        readable: list[tuple[int, MessageIn]] = []
        skipped = 0
        for tweet in tweets:
            try:
                message = self._message(tweet, users)
                readable.append((int(message.external_id), message))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                detail = (f"{len(exc.errors())} invalid field(s)"
                          if isinstance(exc, pydantic.ValidationError) else
                          f"{type(exc).__name__}: {exc}")
                tweet_id = tweet.get("id") if isinstance(tweet, dict) else None
                log.warning("x: post %s skipped: %s", str(tweet_id)[:40], detail[:200])
                skipped += 1
        readable.sort(key=lambda pair: pair[0])
        seen: set[int] = set()
        messages = []
        for key, message in readable:
            if key not in seen:
                seen.add(key)
                messages.append(message)
        return messages, skipped

    def _message(self, tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> MessageIn:
        """One post as a message; raises on a malformed one."""
        tweet_id = tweet["id"]
        if not isinstance(tweet_id, str) or not tweet_id.isdigit():
            raise ValueError("id is not a numeric string")
        user = users[tweet["author_id"]]
        username = user["username"]
        if not isinstance(username, str) or not username:
            raise ValueError("username")
        name = user.get("name")
        text = tweet["text"]
        note = tweet.get("note_tweet")
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            text = note["text"]   # the whole of a long post; `text` is cut at 280
        if not isinstance(text, str):
            raise TypeError("text")
        created = tweet["created_at"]
        if not isinstance(created, str):
            raise TypeError("created_at")
        entities = tweet.get("entities")
        mentions: list[str] = []
        for mention in (entities.get("mentions") or []) if isinstance(entities, dict) else []:
            handle = mention.get("username") if isinstance(mention, dict) else None
            if isinstance(handle, str) and handle and f"@{handle}" not in mentions:
                mentions.append(f"@{handle}")
        in_reply_to = None
        for reference in tweet.get("referenced_tweets") or []:
            if isinstance(reference, dict) and reference.get("type") == "replied_to":
                in_reply_to = str(reference["id"])
        lang = tweet.get("lang")
        if (not isinstance(lang, str) or not _LANG.match(lang) or lang in _NO_LANG
                or (len(lang) == 3 and lang.startswith("q"))):
            lang = None   # X's `und`, and its q* codes (qme: media only, qht: hashtags...)
        return MessageIn(
            source=self.kind, external_id=tweet_id,
            author=AuthorIn(handle=f"@{username}",
                            name=name if isinstance(name, str) and name.strip() else None),
            text=text, created_at=dt.datetime.fromisoformat(created.replace("Z", "+00:00")),
            mentions=mentions[:50], in_reply_to=in_reply_to,
            url=f"https://x.com/{username}/status/{tweet_id}", lang=lang)
