"""A fake X API v2 on loopback, answering `GET /2/users/:id/mentions` as documented
(https://docs.x.com/x-api/users/get-mentions):

- `Authorization: Bearer <token>`; another token answers 401
  `{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}`.
- `since_id` (only newer posts), `max_results` (5 to 100, else 400 Invalid Request),
  `pagination_token` (the `meta.next_token` of the previous page, towards older posts).
- Posts newest first, each with `id`, `text`, `edit_history_tweet_ids`, and only the
  `tweet.fields` asked for; `expansions=author_id` fills `includes.users`. `meta` carries
  `result_count`, and `newest_id`, `oldest_id`, `next_token` when there are posts.
- Every answer carries `x-rate-limit-limit`, `x-rate-limit-remaining`, `x-rate-limit-reset`
  (epoch seconds); at zero remaining, 429 Too Many Requests.

Switches: `rate_limited` (429 with the headers), `fail_status` (e.g. 503, for `fail_times`
requests or always), `add_raw()` for a malformed post. `requests` keeps every query.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestServer

from guardian.connectors.x_reply import OAuth1, signature

TOWN_ID = "1500000000000000001"
TOWN_USERNAME = "AytoVillaejemplo"
BASE_TIME = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
SNOWFLAKE_EPOCH_MS = 1288834974657
DEFAULT_FIELDS = ("id", "text", "edit_history_tweet_ids")

_TITLES = {400: "Invalid Request", 401: "Unauthorized", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


def snowflake(when: dt.datetime, sequence: int = 0) -> str:
    return str(((int(when.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22) + sequence)


@dataclass
class FakeX:
    user_id: str = TOWN_ID
    bearer_token: str = "AAAAAAAAAAAAAAAAAAAAAFakeBearer%2Btoken"
    limit: int = 450
    remaining: int = 450
    reset_at: int = 1_773_133_500
    rate_limited: bool = False
    fail_status: int | None = None
    fail_times: int | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    _tweets: list[dict[str, Any]] = field(default_factory=list)
    _clock: dt.datetime = BASE_TIME
    _sequence: int = 0
    _server: TestServer | None = None
    # Posting (`POST /2/tweets`) needs a user-context credential: OAuth 1.0a, checked
    # with the consumer and access secrets the fake was given.
    oauth1: OAuth1 | None = None
    posted: list[dict[str, Any]] = field(default_factory=list)

    async def start(self) -> FakeX:
        app = web.Application()
        app.router.add_get("/2/users/{id}/mentions", self._mentions)
        app.router.add_post("/2/tweets", self._post_tweet)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def api(self) -> str:
        assert self._server is not None and self._server.port is not None
        return f"http://127.0.0.1:{self._server.port}"

    # --- what the test adds ---------------------------------------------------------------

    def _next_id(self) -> tuple[str, dt.datetime]:
        self._clock += dt.timedelta(seconds=11)
        self._sequence += 1
        return snowflake(self._clock, self._sequence), self._clock

    def add_user(self, username: str, name: str | None = None) -> str:
        """A user (id made from the username) for posts to come from."""
        user_id = str(2_000_000_000 + sum(ord(c) * 31 ** i for i, c in enumerate(username))
                      % 1_000_000_000)
        self.users[user_id] = {"id": user_id, "username": username, "name": name or username}
        return user_id

    def add_mention(self, text: str, *, author: str = "lucia_vecina",
                    name: str = "Lucía Pérez", lang: str = "es", reply_to: str | None = None,
                    mentions: list[str] | None = None) -> dict[str, Any]:
        """A post mentioning the town (`mentions`: other usernames also mentioned, after
        the town's), as the full object; the fake answers with the fields asked for."""
        author_id = next((uid for uid, u in self.users.items() if u["username"] == author),
                         None) or self.add_user(author, name)
        tweet_id, at = self._next_id()
        names = [TOWN_USERNAME, *(mentions or [])]
        prefix = " ".join(f"@{n}" for n in names)
        full = f"{prefix} {text}"
        entity_mentions, start = [], 0
        for username in names:
            entity_mentions.append({"start": start, "end": start + len(username) + 1,
                                    "username": username,
                                    "id": TOWN_ID if username == TOWN_USERNAME else "1"})
            start += len(username) + 2
        tweet: dict[str, Any] = {
            "id": tweet_id, "text": full, "edit_history_tweet_ids": [tweet_id],
            "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "lang": lang,
            "author_id": author_id, "conversation_id": reply_to or tweet_id,
            "entities": {"mentions": entity_mentions}}
        if reply_to is not None:
            tweet["in_reply_to_user_id"] = TOWN_ID
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        self._tweets.append(tweet)
        return tweet

    def add_raw(self, tweet: dict[str, Any]) -> dict[str, Any]:
        """A post as given (malformed ones too); given a fresh id unless it has one."""
        if "id" not in tweet:
            tweet = {"id": self._next_id()[0], **tweet}
        self._tweets.append(tweet)
        return tweet

    # --- answering ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"x-rate-limit-limit": str(self.limit),
                "x-rate-limit-remaining": str(self.remaining),
                "x-rate-limit-reset": str(self.reset_at)}

    def _problem(self, status: int, detail: str | None = None,
                 errors: list[dict[str, Any]] | None = None) -> web.Response:
        title = _TITLES.get(status, "Error")
        body: dict[str, Any] = {"title": title, "detail": detail or title, "status": status,
                                "type": "about:blank" if status != 400 else
                                "https://api.twitter.com/2/problems/invalid-request"}
        if errors:
            body["errors"] = errors
        return web.json_response(body, status=status, headers=self._headers())

    def _invalid(self, name: str, value: str, message: str) -> web.Response:
        return self._problem(400, "One or more parameters to your request was invalid.",
                             [{"parameters": {name: [value]}, "message": message}])

    async def _post_tweet(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        given = dict(re.findall(r'(\w+)="([^"]*)"', header)) if header.startswith("OAuth ") \
            else {}
        given = {k: unquote(v) for k, v in given.items()}
        expected = None
        if self.oauth1 is not None and given.get("oauth_token") == self.oauth1.access_token \
                and given.get("oauth_consumer_key") == self.oauth1.consumer_key:
            url = f"{self.api}/2/tweets"
            expected = signature("POST", url, {k: v for k, v in given.items()
                                               if k != "oauth_signature"},
                                 self.oauth1.consumer_secret, self.oauth1.access_secret)
        if expected is None or given.get("oauth_signature") != expected:
            return web.json_response({"title": "Unauthorized", "type": "about:blank",
                                      "status": 401, "detail": "Unauthorized"}, status=401)
        body = await request.json()
        reply = body.get("reply") or {}
        if not isinstance(body.get("text"), str) or not body["text"] or len(body["text"]) > 280:
            return self._problem(400, "The `text` field is invalid.")
        if reply and reply.get("in_reply_to_tweet_id") not in {t["id"] for t in self._tweets}:
            return self._problem(400, "The post you are replying to was deleted.")
        self.posted.append(body)
        tweet_id, _ = self._next_id()
        return web.json_response({"data": {"id": tweet_id, "text": body["text"],
                                           "edit_history_tweet_ids": [tweet_id]}}, status=201)

    async def _mentions(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append(query)
        if request.headers.get("Authorization") != f"Bearer {self.bearer_token}":
            return self._problem(401)
        if self.rate_limited or self.remaining <= 0:
            self.remaining = 0
            return self._problem(429)
        self.remaining -= 1
        if self.fail_status is not None:
            status = self.fail_status
            if self.fail_times is not None:
                self.fail_times -= 1
                if self.fail_times <= 0:
                    self.fail_status, self.fail_times = None, None
            return self._problem(status)
        if request.match_info["id"] != self.user_id:
            return web.json_response({"errors": [{
                "value": request.match_info["id"], "detail": "Could not find user with id: "
                f"[{request.match_info['id']}].", "title": "Not Found Error",
                "resource_type": "user", "parameter": "id",
                "type": "https://api.twitter.com/2/problems/resource-not-found"}]},
                headers=self._headers())
        raw_max = query.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            return self._invalid("max_results", raw_max, f"The `max_results` query parameter "
                                 f"value [{raw_max}] is not between 5 and 100")
        posts = sorted(self._tweets, key=lambda t: int(t["id"]), reverse=True)
        since = query.get("since_id")
        if since is not None:
            if not since.isdigit():
                return self._invalid("since_id", since, "The `since_id` query parameter "
                                     f"value [{since}] is not valid")
            posts = [t for t in posts if int(t["id"]) > int(since)]
        token = query.get("pagination_token")
        if token is not None:
            # Our tokens name the last post of the previous page.
            if not token.startswith("7140dibdnow9c7btw4") or not token[18:].isdigit():
                return self._invalid("pagination_token", token, "The `pagination_token` query "
                                     f"parameter value [{token}] is not valid")
            posts = [t for t in posts if int(t["id"]) < int(token[18:])]
        page, rest = posts[:int(raw_max)], posts[int(raw_max):]
        wanted = set(DEFAULT_FIELDS) | set(filter(None, query.get("tweet.fields", "")
                                                  .split(",")))
        data = [{k: v for k, v in tweet.items() if k in wanted} for tweet in page]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if page and rest:
            meta["next_token"] = f"7140dibdnow9c7btw4{page[-1]['id']}"
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
        if "author_id" in query.get("expansions", "").split(","):
            user_fields = {"id", "name", "username"} | set(
                query.get("user.fields", "").split(","))
            authors = [self.users[t["author_id"]] for t in page
                       if isinstance(t.get("author_id"), str) and t["author_id"] in self.users]
            unique = {u["id"]: {k: v for k, v in u.items() if k in user_fields}
                      for u in authors}
            if unique:
                body["includes"] = {"users": list(unique.values())}
        return web.json_response(body, headers=self._headers())
