"""A fake Bluesky PDS on loopback, answering the XRPC methods the connector uses as
documented (https://docs.bsky.app/docs/api/):

- `POST /xrpc/com.atproto.server.createSession` `{identifier, password}` → `accessJwt`,
  `refreshJwt`, `did`, `handle`; a wrong password answers 401
  `{"error": "AuthenticationRequired", "message": "Invalid identifier or password"}`.
- `POST /xrpc/com.atproto.server.refreshSession` (`Authorization: Bearer <refreshJwt>`):
  new tokens; the refresh token used is spent (rotation).
- `GET /xrpc/app.bsky.notification.listNotifications?limit=&cursor=`: newest first; `cursor`
  (the last item's `indexedAt`) pages to older notifications. Without a token: 401
  `AuthenticationRequired`; an expired one: 400 `ExpiredToken`; an unknown one: 400
  `InvalidToken`.
- `GET /xrpc/app.bsky.feed.getPosts?uris=...` (up to 25): `{"posts": [post views]}` for the
  posts added with `add_post` (or created) among them; unknown ones are left out, as the
  AppView leaves out deleted posts.
- `POST /xrpc/com.atproto.repo.createRecord` `{repo, collection, record}`: `repo` must be the
  session's DID, `collection` `app.bsky.feed.post`, `record.$type` the same, `text` at most
  300 graphemes (and 3000 bytes), a `reply`'s root and parent strong references (uri + cid)
  known to the fake (a post's own, or one a post's `reply` names). What is posted goes to
  `created`; the answer is `{"uri": "at://<did>/app.bsky.feed.post/<rkey>", "cid": ...}`.
- Every answer carries `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` (epoch
  seconds) and `ratelimit-policy`; at zero remaining, 429 `RateLimitExceeded`.

Switches: `expire_access_tokens()`, `expire_refresh_tokens()`, `rate_limited` (429 with the
headers), `fail_status` (e.g. 500, for `fail_times` requests or always), `add_raw()` for a
malformed notification. `requests` keeps every call; `created` every record createRecord
accepted (the request's `record`, plus its `uri` and `cid` under `_uri`/`_cid`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import regex  # type: ignore[import-untyped]  # UAX #29 graphemes (`\X`), as the PDS counts
from aiohttp import web
from aiohttp.test_utils import TestServer

TOWN_DID = "did:plc:ayto4villaejemplo7q2xk"
TOWN_HANDLE = "ayto-villaejemplo.bsky.social"
BASE_TIME = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)

_ERRORS = {500: ("InternalServerError", "Internal Server Error"),
           502: ("UpstreamFailure", "Upstream Failure"),
           503: ("NotEnoughResources", "Service Unavailable")}


def iso(when: dt.datetime) -> str:
    """ATProto's datetime form: milliseconds and a Z."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{when.microsecond // 1000:03d}Z"


@dataclass
class Call:
    method: str
    params: dict[str, str]
    authorization: str | None


@dataclass
class FakeBluesky:
    identifier: str = TOWN_HANDLE
    password: str = "abcd-efgh-ijkl-mnop"
    did: str = TOWN_DID
    handle: str = TOWN_HANDLE
    # Rate limit: the window's size, what remains of it and when it resets (epoch seconds).
    limit: int = 3000
    remaining: int = 3000
    reset_at: int = 1_773_133_500
    rate_limited: bool = False
    fail_status: int | None = None
    fail_times: int | None = None  # None: fail every request while fail_status is set
    requests: list[Call] = field(default_factory=list)
    sessions_created: int = 0
    sessions_refreshed: int = 0
    created: list[dict[str, Any]] = field(default_factory=list)
    # (sort time, notification), in the order added; served newest first.
    _notifications: list[tuple[dt.datetime, dict[str, Any]]] = field(default_factory=list)
    _access: dict[str, bool] = field(default_factory=dict)   # token -> still valid
    _refresh: dict[str, bool] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _clock: dt.datetime = BASE_TIME
    _server: TestServer | None = None

    async def start(self) -> FakeBluesky:
        app = web.Application()
        app.router.add_route("*", "/xrpc/{nsid}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def service(self) -> str:
        """The base URL to give the connector."""
        assert self._server is not None and self._server.port is not None
        return f"http://127.0.0.1:{self._server.port}"

    # --- what the test adds ---------------------------------------------------------------

    def _tick(self) -> dt.datetime:
        """A later instant for each notification, as the AppView indexes them."""
        self._clock += dt.timedelta(seconds=7)
        return self._clock

    def add_post(self, text: str, *, reason: str = "mention", author: str = "lucia.bsky.social",
                 author_did: str = "did:plc:lucia000vecina", display_name: str | None = "Lucía",
                 langs: list[str] | None = None, reply_to: str | None = None,
                 mentions: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """A post notifying the town (`reason` mention, reply or quote). `mentions`: (handle,
        did) pairs whose `@handle` is appended to the text with a mention facet; the town is
        mentioned first unless the list is given."""
        indexed = self._tick()
        rkey = f"3l{next(self._seq):011d}"
        facets: list[dict[str, Any]] = []
        if mentions is None:
            mentions = [(self.handle, self.did)]
        for handle, did in mentions:
            start = len(text.encode()) + 1
            text = f"{text} @{handle}"
            facets.append({"index": {"byteStart": start, "byteEnd": len(text.encode())},
                           "features": [{"$type": "app.bsky.richtext.facet#mention",
                                         "did": did}]})
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text,
                                  "createdAt": iso(indexed - dt.timedelta(seconds=2)),
                                  "langs": langs if langs is not None else ["es"]}
        if facets:
            record["facets"] = facets
        if reply_to is not None:
            record["reply"] = {"root": {"uri": reply_to, "cid": "bafyroot"},
                               "parent": {"uri": reply_to, "cid": "bafyparent"}}
        profile: dict[str, Any] = {"did": author_did, "handle": author,
                                   "indexedAt": iso(BASE_TIME), "labels": []}
        if display_name is not None:
            profile["displayName"] = display_name
        notification = {
            "uri": f"at://{author_did}/app.bsky.feed.post/{rkey}",
            "cid": f"bafyrei{rkey}",
            "author": profile,
            "reason": reason, "record": record, "isRead": False,
            "indexedAt": iso(indexed), "labels": []}
        if reason in ("reply", "quote") and reply_to is not None:
            notification["reasonSubject"] = reply_to
        self._notifications.append((indexed, notification))
        return notification

    def add_like(self, *, reason: str = "like", author: str = "pepe.bsky.social",
                 author_did: str = "did:plc:pepe000vecino") -> dict[str, Any]:
        """A like, repost or follow (`reason`): not a post addressed to the town."""
        indexed = self._tick()
        collection = {"like": "app.bsky.feed.like", "repost": "app.bsky.feed.repost",
                      "follow": "app.bsky.graph.follow"}[reason]
        record: dict[str, Any] = {"$type": collection, "createdAt": iso(indexed)}
        if reason == "follow":
            record["subject"] = self.did
        else:
            record["subject"] = {"uri": f"at://{self.did}/app.bsky.feed.post/3kaaa",
                                 "cid": "bafysubject"}
        notification = {
            "uri": f"at://{author_did}/{collection}/3m{next(self._seq):011d}",
            "cid": "bafyreilike", "author": {"did": author_did, "handle": author},
            "reason": reason, "record": record, "isRead": False,
            "indexedAt": iso(indexed), "labels": []}
        self._notifications.append((indexed, notification))
        return notification

    def add_raw(self, notification: dict[str, Any]) -> dict[str, Any]:
        """A notification as given (malformed ones too), placed after those already added."""
        self._notifications.append((self._tick(), notification))
        return notification

    def expire_access_tokens(self) -> None:
        self._access = dict.fromkeys(self._access, False)

    def expire_refresh_tokens(self) -> None:
        self._refresh = dict.fromkeys(self._refresh, False)

    def calls(self, nsid: str) -> list[Call]:
        return [call for call in self.requests if call.method == nsid]

    # --- answering ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"ratelimit-limit": str(self.limit), "ratelimit-remaining": str(self.remaining),
                "ratelimit-reset": str(self.reset_at),
                "ratelimit-policy": f"{self.limit};w=300"}

    def _error(self, status: int, error: str, message: str) -> web.Response:
        return web.json_response({"error": error, "message": message}, status=status,
                                 headers=self._headers())

    def _ok(self, body: dict[str, Any]) -> web.Response:
        return web.json_response(body, headers=self._headers())

    async def _handle(self, request: web.Request) -> web.Response:
        nsid = request.match_info["nsid"]
        self.requests.append(Call(nsid, dict(request.query),
                                  request.headers.get("Authorization")))
        if self.rate_limited or self.remaining <= 0:
            self.remaining = 0
            return self._error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        self.remaining -= 1
        if self.fail_status is not None:
            if self.fail_times is not None:
                self.fail_times -= 1
                if self.fail_times <= 0:
                    status, self.fail_status, self.fail_times = self.fail_status, None, None
                else:
                    status = self.fail_status
            else:
                status = self.fail_status
            error, message = _ERRORS.get(status, ("InternalServerError", "Internal Error"))
            return self._error(status, error, message)
        if nsid == "com.atproto.server.createSession" and request.method == "POST":
            return await self._create_session(request)
        if nsid == "com.atproto.server.refreshSession" and request.method == "POST":
            return self._refresh_session(request)
        if nsid == "app.bsky.notification.listNotifications" and request.method == "GET":
            return self._list_notifications(request)
        if nsid == "app.bsky.feed.getPosts" and request.method == "GET":
            return self._get_posts(request)
        if nsid == "com.atproto.repo.createRecord" and request.method == "POST":
            return await self._create_record(request)
        return self._error(501, "MethodNotImplemented", "Method Not Implemented")

    def _session(self) -> dict[str, Any]:
        n = next(self._seq)
        access, refresh = f"access-jwt-{n}", f"refresh-jwt-{n}"
        self._access[access] = True
        self._refresh[refresh] = True
        return {"accessJwt": access, "refreshJwt": refresh, "did": self.did,
                "handle": self.handle, "active": True}

    async def _create_session(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "InvalidRequest", "Request body must be JSON")
        if not isinstance(body, dict) or not isinstance(body.get("identifier"), str) \
                or not isinstance(body.get("password"), str):
            return self._error(400, "InvalidRequest", "Input must have the property "
                                                      "\"identifier\" and \"password\"")
        if body["identifier"] not in (self.identifier, self.handle, self.did) \
                or body["password"] != self.password:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sessions_created += 1
        return self._ok(self._session())

    def _bearer(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    def _refresh_session(self, request: web.Request) -> web.Response:
        token = self._bearer(request)
        if token is None:
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        if token not in self._refresh:
            return self._error(400, "InvalidToken", "Token could not be verified")
        if not self._refresh[token]:
            return self._error(400, "ExpiredToken", "Token has expired")
        self._refresh[token] = False   # rotated: a refresh token serves once
        self.sessions_refreshed += 1
        return self._ok(self._session())

    def _list_notifications(self, request: web.Request) -> web.Response:
        token = self._bearer(request)
        if token is None:
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        if token not in self._access:
            return self._error(400, "InvalidToken", "Token could not be verified")
        if not self._access[token]:
            return self._error(400, "ExpiredToken", "Token has expired")
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return self._error(400, "InvalidRequest", "limit must be an integer")
        if not 1 <= limit <= 100:
            return self._error(400, "InvalidRequest", "limit must be between 1 and 100")
        newest_first = sorted(self._notifications, key=lambda pair: pair[0], reverse=True)
        cursor = request.query.get("cursor")
        if cursor is not None:
            try:
                before = dt.datetime.fromisoformat(cursor.replace("Z", "+00:00"))
            except ValueError:
                return self._error(400, "InvalidRequest", "Malformed cursor")
            newest_first = [pair for pair in newest_first if pair[0] < before]
        page = newest_first[:limit]
        body: dict[str, Any] = {"notifications": [n for _, n in page],
                                "priority": False, "seenAt": iso(BASE_TIME)}
        if page:
            # As the AppView: the last item's sort time, whenever the page is not empty.
            body["cursor"] = iso(page[-1][0])
        return self._ok(body)

    # --- replying -------------------------------------------------------------------------

    def _refused(self, request: web.Request) -> web.Response | None:
        """The answer to a request without a valid access token; None when it has one."""
        token = self._bearer(request)
        if token is None:
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        if token not in self._access:
            return self._error(400, "InvalidToken", "Token could not be verified")
        if not self._access[token]:
            return self._error(400, "ExpiredToken", "Token has expired")
        return None

    def _posts(self) -> dict[str, dict[str, Any]]:
        """The post views the AppView knows, by URI: those added, then those created."""
        views: dict[str, dict[str, Any]] = {}
        for _, item in self._notifications:
            record = item.get("record")
            if isinstance(record, dict) and record.get("$type") == "app.bsky.feed.post" \
                    and isinstance(item.get("uri"), str):
                views[item["uri"]] = {key: item[key] for key in
                                      ("uri", "cid", "author", "record", "indexedAt")
                                      if key in item}
        for created in self.created:
            record = {k: v for k, v in created.items() if not k.startswith("_")}
            views[created["_uri"]] = {
                "uri": created["_uri"], "cid": created["_cid"], "record": record,
                "author": {"did": self.did, "handle": self.handle},
                "indexedAt": record.get("createdAt")}
        return views

    def _known_refs(self) -> set[tuple[str, str]]:
        """The (uri, cid) strong references a reply may name: every known post's own, and
        those its `reply` names (the fake's replies point at posts it never saw)."""
        refs: set[tuple[str, str]] = set()
        for view in self._posts().values():
            refs.add((view["uri"], view["cid"]))
            reply = view["record"].get("reply")
            for ref in reply.values() if isinstance(reply, dict) else ():
                if isinstance(ref, dict):
                    refs.add((str(ref.get("uri")), str(ref.get("cid"))))
        return refs

    def _get_posts(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        uris = request.query.getall("uris", [])
        if not uris:
            return self._error(400, "InvalidRequest", 'Error: Params must have the property '
                                                      '"uris"')
        if len(uris) > 25:
            return self._error(400, "InvalidRequest", "Error: uris must not have more than "
                                                      "25 elements")
        known = self._posts()
        return self._ok({"posts": [known[uri] for uri in uris if uri in known]})

    async def _create_record(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "InvalidRequest", "Request body must be JSON")
        if not isinstance(body, dict) or not isinstance(body.get("record"), dict):
            return self._error(400, "InvalidRequest", 'Input must have the property "record"')
        if body.get("repo") != self.did:
            return self._error(400, "InvalidRequest", "Input/repo must be the session's DID")
        if body.get("collection") != "app.bsky.feed.post":
            return self._error(400, "InvalidRequest", "Unexpected collection")
        record: dict[str, Any] = body["record"]
        invalid = self._invalid_post(record)
        if invalid is not None:
            return self._error(400, "InvalidRecord",
                               f"Invalid app.bsky.feed.post record: {invalid}")
        rkey = f"3m{next(self._seq):011d}"
        uri, cid = f"at://{self.did}/app.bsky.feed.post/{rkey}", f"bafyreireply{rkey}"
        self.created.append({**record, "_uri": uri, "_cid": cid})
        return self._ok({"uri": uri, "cid": cid, "validationStatus": "valid",
                         "commit": {"cid": f"bafyreicommit{rkey}", "rev": rkey}})

    def _invalid_post(self, record: dict[str, Any]) -> str | None:
        """Why `record` is not a valid reply post; None when it is."""
        if record.get("$type") != "app.bsky.feed.post":
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str):
            return 'Record must have the property "text"'
        if len(regex.findall(r"\X", text)) > 300:
            return "Record/text must not be longer than 300 graphemes"
        if len(text.encode()) > 3000:
            return "Record/text must not be longer than 3000 characters"
        created_at = record.get("createdAt")
        try:
            if not isinstance(created_at, str) or dt.datetime.fromisoformat(
                    created_at.replace("Z", "+00:00")).tzinfo is None:
                raise ValueError(created_at)
        except ValueError:
            return "Record/createdAt must be a valid atproto datetime"
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3 \
                or not all(isinstance(lang, str) for lang in langs):
            return "Record/langs must be a list of at most 3 languages"
        reply = record.get("reply")
        if reply is None:
            return None
        if not isinstance(reply, dict):
            return "Record/reply must be an object"
        known = self._known_refs()
        for part in ("root", "parent"):
            ref = reply.get(part)
            if not isinstance(ref, dict) or not isinstance(ref.get("uri"), str) \
                    or not isinstance(ref.get("cid"), str):
                return f'Record/reply must have the property "{part}" with uri and cid'
            if (ref["uri"], ref["cid"]) not in known:
                return f"Record/reply/{part} names no known post"
        return None
