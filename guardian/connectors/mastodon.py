"""Mastodon: the town account's mentions (public posts and direct messages alike).

Polling `GET /api/v1/notifications?types[]=mention` is the source of truth: with `min_id`
(results immediately newer than the cursor, docs.joinmastodon.org/methods/notifications)
it pages forward through whatever came while Guardian was down, oldest first, so nothing
is skipped however long the gap. The streaming API (`GET /api/v1/streaming/user/notification`,
server-sent events) only tells us *when* to poll: a mention reaches the pipeline within a
second instead of within a poll, and a stream that drops loses nothing.

The first run starts from now (one request for the newest mention), not from the
account's whole history: `guardian connectors backfill --since` reaches back by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict
from pydantic import ValidationError

from guardian.connectors.base import Batch, ConnectorError, raise_for_status
from guardian.schemas import MessageIn

log = logging.getLogger(__name__)

PAGE = 40  # Mastodon's default page of notifications (80 at most)
BACKFILL_PAGES = 25  # `backfill --since` reaches back at most this many pages
SINCE = "since:"  # a cursor set by `backfill --since`: an instant, not an id


class _Text(HTMLParser):
    """A status's HTML as the plain text a person reads: paragraphs and line breaks kept,
    links as their text (a mention's link text is `@user`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(content: str) -> str:
    parser = _Text()
    parser.feed(content)
    parser.close()
    # The parser has already turned `&amp;` into `&` (convert_charrefs): unescaping again
    # would change what a person typed (`&amp;` written as text would become `&`).
    return "".join(parser.parts).strip()


def _rate_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """Mastodon names its window `X-RateLimit-Reset` (ISO 8601) and `X-RateLimit-Remaining`;
    `retry_after_seconds` reads `x-rate-limit-*` (X's spelling): give it both names."""
    found: CIMultiDict[str] = CIMultiDict(headers)
    for mastodon_name, read_as in (("X-RateLimit-Reset", "x-rate-limit-reset"),
                                   ("X-RateLimit-Remaining", "x-rate-limit-remaining")):
        if mastodon_name in found and read_as not in found:
            found[read_as] = found[mastodon_name]
    return found


def _handle(acct: str, instance_host: str) -> str:
    """`@user@host` for everyone: a local account's `acct` has no host (the policy names
    staff as `@lucia@ejemplo.social`)."""
    acct = acct.lstrip("@")
    return f"@{acct}" if "@" in acct else f"@{acct}@{instance_host}"


def message_from_notification(item: dict[str, Any], instance_host: str) -> MessageIn:
    """One mention notification as a message; raises KeyError, TypeError or
    ValidationError when it is not one."""
    status = item["status"]
    account = item["account"]
    return MessageIn(
        source="mastodon",
        external_id=str(status["id"]),
        author={"handle": _handle(str(account["acct"]), instance_host),
                "name": (account.get("display_name") or None)},
        text=plain_text(str(status["content"])),
        created_at=status["created_at"],
        mentions=[_handle(str(m["acct"]), instance_host)
                  for m in status.get("mentions") or []][:50],
        in_reply_to=(str(status["in_reply_to_id"]) if status.get("in_reply_to_id")
                     else None),
        url=status.get("url") or status.get("uri"),
        lang=status.get("language") or None,
    )


class MastodonConnector:
    """The mentions of the account whose access token this is (scope `read:notifications`;
    `read:statuses` for the stream)."""

    kind = "mastodon"

    def __init__(self, instance: str, access_token: str, *,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.instance = instance.rstrip("/")
        self.host = urlsplit(self.instance).hostname or self.instance
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    async def _get(self, session: aiohttp.ClientSession, params: list[tuple[str, str]]
                   ) -> list[Any]:
        url = f"{self.instance}/api/v1/notifications"
        try:
            async with session.get(url, params=params, headers=self._headers) as response:
                raise_for_status(response.status, _rate_headers(response.headers),
                                 self._clock(), f"mastodon {self.host}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectorError(f"mastodon {self.host}: {type(exc).__name__}") from None
        except ValueError:
            raise ConnectorError(f"mastodon {self.host}: the answer is not JSON") from None
        if not isinstance(body, list):
            raise ConnectorError(f"mastodon {self.host}: the answer is not a list")
        return body

    async def fetch(self, session: aiohttp.ClientSession, cursor: str | None) -> Batch:
        base = [("types[]", "mention"), ("limit", str(PAGE))]
        if cursor is None:
            latest = await self._get(session, [("types[]", "mention"), ("limit", "1")])
            first = str(latest[0]["id"]) if latest and isinstance(latest[0], dict) else "0"
            return Batch(messages=[], cursor=first)
        if cursor.startswith(SINCE):
            return await self._back_to(session, cursor[len(SINCE):])
        page = await self._get(session, [*base, ("min_id", cursor)])
        # Newest first in the answer; the oldest first for the pipeline.
        return self._batch(list(reversed(page)), cursor, more=len(page) >= PAGE)

    async def _back_to(self, session: aiohttp.ClientSession, since: str) -> Batch:
        """`guardian connectors backfill --since`: notification ids are the instance's own
        sequence, not times, so walk back from the newest (`max_id`) to the first mention
        before `since`, at most BACKFILL_PAGES pages; then carry on from the newest."""
        try:
            limit = dt.datetime.fromisoformat(since)
        except ValueError:
            raise ConnectorError(f"mastodon {self.host}: unreadable cursor") from None
        collected: list[Any] = []
        max_id: str | None = None
        for _ in range(BACKFILL_PAGES):
            params = [("types[]", "mention"), ("limit", str(PAGE))]
            page = await self._get(session, params + ([("max_id", max_id)] if max_id else []))
            done = len(page) < PAGE
            for item in page:
                created = _created(item)
                if created is not None and created < limit:
                    done = True
                    break
                collected.append(item)
            if done or not page:
                break
            max_id = str(page[-1].get("id")) if isinstance(page[-1], dict) else None
            if max_id is None:
                break
        if not collected:
            latest = await self._get(session, [("types[]", "mention"), ("limit", "1")])
            start = str(latest[0]["id"]) if latest and isinstance(latest[0], dict) else "0"
            return Batch(messages=[], cursor=start)
        return self._batch(list(reversed(collected)), "0", more=False)

    def _batch(self, items: list[Any], cursor: str, *, more: bool) -> Batch:
        """`items` (oldest first) as messages, and the newest id among them as cursor."""
        messages: list[MessageIn] = []
        skipped = 0
        newest = cursor
        for item in items:
            ident = item.get("id") if isinstance(item, dict) else None
            if ident is not None and _id_after(str(ident), newest):
                newest = str(ident)
            if not isinstance(item, dict) or item.get("type") != "mention":
                skipped += not isinstance(item, dict)
                continue
            try:
                messages.append(message_from_notification(item, self.host))
            except (KeyError, TypeError, ValueError, ValidationError) as exc:
                skipped += 1
                log.warning("mastodon %s: notification %s skipped: %s", self.host,
                            str(ident)[:40], type(exc).__name__)
        return Batch(messages=messages, cursor=newest, skipped=skipped, more=more)

    async def listen(self, session: aiohttp.ClientSession, wake: Callable[[], None]) -> None:
        """Follow the notification stream and call `wake` at each notification, until
        cancelled or the stream ends (the caller reconnects after a pause)."""
        url = f"{self.instance}/api/v1/streaming/user/notification"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
        async with session.get(url, headers=self._headers, timeout=timeout) as response:
            raise_for_status(response.status, _rate_headers(response.headers),
                             self._clock(), f"mastodon {self.host} stream")
            event = ""
            async for raw in response.content:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "notification":
                    try:
                        kind = json.loads(line[5:]).get("type")
                    except (ValueError, AttributeError):
                        kind = None
                    if kind == "mention":
                        wake()
                elif not line:
                    event = ""
                await asyncio.sleep(0)


_DIGITS = re.compile(r"^\d+$")


def _created(item: Any) -> dt.datetime | None:
    if not isinstance(item, dict) or not isinstance(item.get("created_at"), str):
        return None
    try:
        return dt.datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
    except ValueError:
        return None


def _id_after(candidate: str, current: str) -> bool:
    """Mastodon ids are numeric strings (snowflakes): compare them as numbers."""
    if _DIGITS.match(candidate) and _DIGITS.match(current):
        return int(candidate) > int(current)
    return candidate > current
