"""A fake Mastodon instance on loopback, answering the two methods the connector uses as
documented (https://docs.joinmastodon.org/methods/notifications/ and
https://docs.joinmastodon.org/methods/streaming/):

- `GET /api/v1/notifications` with `Authorization: Bearer <token>`; another token, or none,
  answers 401 `{"error": "The access token is invalid"}`. Parameters: `types[]`,
  `exclude_types[]`, `limit` (default 40, at most 80; Mastodon clamps rather than refuses),
  `max_id` (older than), `since_id` (the newest ones newer than), `min_id` (the ones
  immediately newer than: a cursor paging forward). With `min_id`, `since_id` is ignored, as
  Mastodon's `paginate_by_id` does. Results are always newest first. A `Link` header carries
  `rel="next"` (`max_id` of the last item, when the page is full) and `rel="prev"` (`min_id`
  of the first item, when the page is not empty), keeping the other parameters.
- Notification ids are snowflake-like numeric strings (milliseconds shifted left 16 bits, plus
  a sequence), increasing in the order notifications are added; statuses get their own.
  `first_id` makes them consecutive integers from that number instead (the notifications
  table's own sequence, as older instances show), to cross a change in their digit count.
- `GET /api/v1/streaming/user/notification`: server-sent events. `:)` on connecting, then
  `event: notification` / `data: <the notification as JSON>` for every notification added while
  connected (favourites and follows too: the client filters), and a `:thump` heartbeat every
  `heartbeat_seconds`. A wrong token answers 401 `{"error": "Invalid access token"}`.
- Every API answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
  (ISO 8601 with microseconds, as Mastodon's rack-attack sends it); when `rate_limited`, 429
  `{"error": "Too many requests"}` with those headers and, when `retry_after` is set, a
  `Retry-After` in seconds.

Switches: `rate_limited`, `retry_after`, `fail_status` (e.g. 503, answered as the HTML page of
the proxy in front of Mastodon; for `fail_times` requests or always), `honour_types=False` (a
server that ignores `types[]`, as Mastodon before 3.5 did), `close_streams()`. `requests` keeps
every call; `calls(path)` those to one path.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer

NOTIFICATIONS = "/api/v1/notifications"
STREAM = "/api/v1/streaming/user/notification"
TOWN_ACCT = "ayto"
BASE_TIME = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
DEFAULT_LIMIT = 40
MAX_LIMIT = 80


def iso(when: dt.datetime) -> str:
    """Mastodon's datetime form: milliseconds and a Z."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{when.microsecond // 1000:03d}Z"


def snowflake(when: dt.datetime, sequence: int) -> int:
    """Mastodon's ids: the time in milliseconds in the high bits, a sequence in the low 16."""
    return (int(when.timestamp() * 1000) << 16) + (sequence & 0xFFFF)


def _text_html(text: str) -> str:
    """Plain text as Mastodon's formatter renders it: escaped, paragraphs at blank lines,
    `<br />` at single line breaks."""
    paragraphs = [p for p in text.split("\n\n") if p]
    return "".join(f"<p>{html.escape(p, quote=False).replace(chr(10), '<br />')}</p>"
                   for p in paragraphs) or "<p></p>"


@dataclass
class Call:
    path: str
    params: list[tuple[str, str]]
    authorization: str | None

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.params if key == name]


@dataclass
class FakeMastodon:
    access_token: str = "mtdn-Zk3vQp7rW1xY9aLb2cD4eF6gH8iJ0kL"
    account: str = TOWN_ACCT   # the account whose notifications these are
    rate_limit: int = 300
    remaining: int = 300
    reset_at: dt.datetime = BASE_TIME + dt.timedelta(minutes=5)
    rate_limited: bool = False
    retry_after: int | None = None   # seconds, sent as Retry-After with a 429 when set
    fail_status: int | None = None
    fail_times: int | None = None    # None: fail every request while fail_status is set
    honour_types: bool = True
    heartbeat_seconds: float = 15.0
    first_id: int | None = None   # consecutive notification ids from here, not snowflakes
    requests: list[Call] = field(default_factory=list)
    # Statuses posted (`POST /api/v1/statuses`), and the Idempotency-Keys seen with them:
    # Mastodon keeps a key an hour and answers a repeat with the status it made.
    posted: list[dict[str, Any]] = field(default_factory=list)
    _idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (id, notification) in the order added, which is also the order of the ids.
    _notifications: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _streams: list[asyncio.Queue[dict[str, Any] | None]] = field(default_factory=list)
    _accounts: dict[str, str] = field(default_factory=dict)
    _sequence: int = 0
    _clock: dt.datetime = BASE_TIME
    _server: TestServer | None = None

    async def start(self) -> FakeMastodon:
        app = web.Application()
        app.router.add_get(NOTIFICATIONS, self._list)
        app.router.add_get(STREAM, self._stream)
        app.router.add_post("/api/v1/statuses", self._post_status)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        self.close_streams()
        if self._server is not None:
            await self._server.close()

    @property
    def instance(self) -> str:
        """The base URL to give the connector."""
        assert self._server is not None and self._server.port is not None
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def host(self) -> str:
        """The instance's host, which local accounts' handles carry."""
        return "127.0.0.1"

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def calls(self, path: str) -> list[Call]:
        return [call for call in self.requests if call.path == path]

    # --- what the test adds ---------------------------------------------------------------

    def _next(self) -> tuple[int, dt.datetime]:
        self._clock += dt.timedelta(seconds=7)
        self._sequence += 1
        if self.first_id is not None:
            return self.first_id + self._sequence - 1, self._clock
        return snowflake(self._clock, self._sequence), self._clock

    def _account(self, acct: str, display_name: str | None = None) -> dict[str, Any]:
        """An Account entity: `acct` is `user` for local accounts, `user@domain` for remote."""
        username, _, domain = acct.partition("@")
        if acct not in self._accounts:
            self._accounts[acct] = str(109_000_000_000_000_000 + len(self._accounts) * 7919)
        url = f"https://{domain}/@{username}" if domain else f"{self.instance}/@{username}"
        return {"id": self._accounts[acct], "username": username, "acct": acct,
                "display_name": display_name if display_name is not None else username,
                "url": url}

    def _mention_link(self, acct: str) -> str:
        username, _, domain = acct.partition("@")
        url = f"https://{domain}/@{username}" if domain else f"{self.instance}/@{username}"
        return (f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
                f"@<span>{username}</span></a></span>")

    def add_mention(self, text: str, *, acct: str = "vecina",
                    display_name: str | None = "Vecina de la Plaza",
                    visibility: str = "public", in_reply_to_id: str | None = None,
                    language: str | None = "es", mentions: tuple[str, ...] = (TOWN_ACCT,),
                    content: str | None = None) -> dict[str, Any]:
        """A status by `acct` mentioning `mentions` (their links open the content, as in a
        post written "@ayto ..."), as a `mention` notification. `text` is plain text that
        becomes HTML as Mastodon renders it; `content` gives the HTML instead."""
        ident, at = self._next()
        status_id = str(snowflake(at - dt.timedelta(seconds=1), self._sequence))
        if ident == int(status_id):   # never in practice; keep the two apart regardless
            status_id = str(int(status_id) + 1)
        author = self._account(acct, display_name)
        if content is None:
            links = " ".join(self._mention_link(m) for m in mentions)
            body = _text_html(text)
            content = body[:3] + (f"{links} " if links else "") + body[3:]
        username, _, domain = acct.partition("@")
        uri = (f"https://{domain}/users/{username}/statuses/{status_id}" if domain
               else f"{self.instance}/users/{username}/statuses/{status_id}")
        status: dict[str, Any] = {
            "id": status_id, "created_at": iso(at - dt.timedelta(seconds=1)),
            "in_reply_to_id": in_reply_to_id,
            "in_reply_to_account_id": "109000000000000000" if in_reply_to_id else None,
            "sensitive": False, "spoiler_text": "", "visibility": visibility,
            "language": language, "uri": uri, "url": f"{author['url']}/{status_id}",
            "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
            "content": content, "reblog": None, "account": author, "media_attachments": [],
            "mentions": [{"id": self._account(m)["id"], "username": m.partition("@")[0],
                          "acct": m, "url": self._account(m)["url"]} for m in mentions],
            "tags": [], "emojis": [], "card": None, "poll": None}
        notification = {"id": str(ident), "type": "mention", "created_at": iso(at),
                        "account": author, "status": status}
        return self._add(ident, notification)

    def add_other(self, type_: str = "favourite", *, acct: str = "vecino") -> dict[str, Any]:
        """A notification that is not a mention: `favourite` and `reblog` carry the town's
        status, `follow` none."""
        ident, at = self._next()
        notification: dict[str, Any] = {"id": str(ident), "type": type_,
                                        "created_at": iso(at), "account": self._account(acct)}
        if type_ in ("favourite", "reblog", "status", "update", "poll"):
            own = self._account(self.account, "Ayuntamiento")
            status_id = "109500000000000001"
            notification["status"] = {
                "id": status_id, "created_at": iso(BASE_TIME), "in_reply_to_id": None,
                "visibility": "public", "language": "es",
                "uri": f"{self.instance}/users/{self.account}/statuses/{status_id}",
                "url": f"{own['url']}/{status_id}", "account": own, "mentions": [],
                "content": "<p>Mañana se abre el mercado en la plaza.</p>"}
        return self._add(ident, notification)

    def add_raw(self, notification: dict[str, Any]) -> dict[str, Any]:
        """A notification as given (malformed ones too), placed after those already added."""
        ident, _ = self._next()
        return self._add(ident, notification)

    def _add(self, ident: int, notification: dict[str, Any]) -> dict[str, Any]:
        self._notifications.append((ident, notification))
        for queue in self._streams:
            queue.put_nowait(notification)
        return notification

    def close_streams(self) -> None:
        """End every open stream, as a restarting streaming server does."""
        for queue in self._streams:
            queue.put_nowait(None)

    async def wait_for_streams(self, count: int = 1, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self._streams) < count:
                await asyncio.sleep(0.01)

    # --- answering ------------------------------------------------------------------------

    async def _post_status(self, request: web.Request) -> web.Response:
        """`POST /api/v1/statuses` (scope write:statuses): `status` required, 500
        characters at most; `in_reply_to_id`, `visibility`, `language` as documented."""
        refused = self._refusal(request, stream=False)
        if refused is not None:
            return refused
        key = request.headers.get("Idempotency-Key")
        if key is not None and key in self._idempotent:
            return web.json_response(self._idempotent[key])
        body = await request.json()
        text = body.get("status")
        if not isinstance(text, str) or not text.strip():
            return web.json_response({"error": "Validation failed: Text can't be blank"},
                                     status=422)
        if len(text) > 500:
            return web.json_response({"error": "Validation failed: Text character limit of "
                                               "500 exceeded"}, status=422)
        if body.get("visibility", "public") not in ("public", "unlisted", "private", "direct"):
            return web.json_response({"error": "Validation failed: Visibility is invalid"},
                                     status=422)
        self._sequence += 1
        status = {"id": str(900_000 + self._sequence), "content": f"<p>{text}</p>",
                  "in_reply_to_id": body.get("in_reply_to_id"),
                  "visibility": body.get("visibility", "public"),
                  "language": body.get("language")}
        self.posted.append({**body, "id": status["id"]})
        if key is not None:
            self._idempotent[key] = status
        return web.json_response(status)

    def _headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(max(self.remaining, 0)),
                "X-RateLimit-Reset": self.reset_at.astimezone(dt.UTC)
                .isoformat(timespec="microseconds").replace("+00:00", "Z")}

    def _refusal(self, request: web.Request, *, stream: bool) -> web.Response | None:
        """The answer when the request must not be served: a wrong token, the rate limit,
        a failure switched on."""
        self.requests.append(Call(request.path, list(request.query.items()),
                                  request.headers.get("Authorization")))
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            error = "Invalid access token" if stream else "The access token is invalid"
            return web.json_response({"error": error}, status=401)
        if self.rate_limited or self.remaining <= 0:
            self.remaining = 0
            headers = self._headers()
            if self.retry_after is not None:
                headers["Retry-After"] = str(self.retry_after)
            return web.json_response({"error": "Too many requests"}, status=429,
                                     headers=headers)
        self.remaining -= 1
        if self.fail_status is not None:
            status = self.fail_status
            if self.fail_times is not None:
                self.fail_times -= 1
                if self.fail_times <= 0:
                    self.fail_status, self.fail_times = None, None
            return web.Response(status=status, content_type="text/html",
                                text=f"<html><body><h1>{status}</h1></body></html>")
        return None

    @staticmethod
    def _id_param(request: web.Request, name: str) -> int | None:
        value = request.query.get(name, "").strip()
        return int(value) if value.isdigit() else None

    async def _list(self, request: web.Request) -> web.Response:
        refused = self._refusal(request, stream=False)
        if refused is not None:
            return refused
        raw_limit = request.query.get("limit")
        if raw_limit is None:
            limit = DEFAULT_LIMIT
        else:   # Ruby's to_i.abs, then at most the maximum
            digits = raw_limit.strip().lstrip("-+")
            limit = min(int(digits) if digits.isdigit() else 0, MAX_LIMIT)
        types = request.query.getall("types[]", [])
        excluded = request.query.getall("exclude_types[]", [])
        chosen = [(ident, n) for ident, n in self._notifications
                  if not (self.honour_types and types and n.get("type") not in types)
                  and n.get("type") not in excluded]
        max_id = self._id_param(request, "max_id")
        if max_id is not None:
            chosen = [(ident, n) for ident, n in chosen if ident < max_id]
        min_id = self._id_param(request, "min_id")
        since_id = self._id_param(request, "since_id")
        if min_id is not None:
            ascending = sorted((p for p in chosen if p[0] > min_id), key=lambda p: p[0])
            page = list(reversed(ascending[:limit]))
        else:
            if since_id is not None:
                chosen = [(ident, n) for ident, n in chosen if ident > since_id]
            page = sorted(chosen, key=lambda p: p[0], reverse=True)[:limit]
        headers = self._headers()
        links = self._links(request, page, limit)
        if links:
            headers["Link"] = links
        return web.json_response([n for _, n in page], headers=headers)

    def _links(self, request: web.Request, page: list[tuple[int, dict[str, Any]]],
               limit: int) -> str:
        if not page:
            return ""
        kept = [(k, v) for k, v in request.query.items()
                if k not in ("max_id", "min_id", "since_id")]
        base = f"{self.instance}{NOTIFICATIONS}"
        links = []
        if len(page) == limit:
            links.append(f'<{base}?{urlencode([*kept, ("max_id", str(page[-1][0]))])}>; '
                         'rel="next"')
        links.append(f'<{base}?{urlencode([*kept, ("min_id", str(page[0][0]))])}>; '
                     'rel="prev"')
        return ", ".join(links)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request, stream=True)
        if refused is not None:
            return refused
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._streams.append(queue)
        try:
            await response.write(b":)\n")
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self.heartbeat_seconds)
                except TimeoutError:
                    await response.write(b":thump\n")
                    continue
                if item is None:
                    break
                payload = json.dumps(item, ensure_ascii=False)
                await response.write(f"event: notification\ndata: {payload}\n\n".encode())
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass   # the client went away
        finally:
            with contextlib.suppress(ValueError):
                self._streams.remove(queue)
        return response
