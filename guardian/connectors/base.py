"""What every connector shares: the page of messages one fetch brings, the errors that make
the engine wait, and reading networks' rate-limit headers.

A polling connector is an object with a `kind` and one coroutine, `fetch(session, cursor)`:
it asks its network for what came after `cursor` (None: the first run, which starts from
now rather than from the account's whole history) and returns a `Batch`: the messages,
oldest first, and the cursor to store with them. The engine (guardian/engine/connectors.py)
stores both in one transaction, so a crash between a fetch and its storing refetches the
same events (ingest is idempotent on `(source, external_id)`): nothing lost, nothing twice.

An event the connector cannot read is logged and counted in `skipped`, never raised: one
malformed notification must not stop the feed.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from guardian.schemas import MessageIn

log = logging.getLogger(__name__)

# The longest a network may ask us to wait before we try again anyway.
MAX_WAIT_SECONDS = 3600.0


@dataclass(frozen=True)
class Batch:
    """One fetch's harvest: `messages` oldest first, and the cursor that follows them
    (unchanged when nothing came)."""

    messages: list[MessageIn]
    cursor: str | None
    skipped: int = 0
    # Whether the network has more after this batch (the engine fetches again at once).
    more: bool = False
    errors: list[str] = field(default_factory=list)


class ConnectorError(Exception):
    """The network could not be read this time (5xx, a timeout, a refused connection):
    the engine backs off and tries again. `retry_after`: what the network asked, if it did."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(ConnectorError):
    """429, or a rate-limit header at zero: wait `retry_after` seconds."""


class NotAuthorised(ConnectorError):
    """401/403: the credentials are wrong or lack a scope; retrying will not help until a
    person fixes them (the status says so, and the engine retries slowly)."""


class PollingConnector(Protocol):
    """(A connector whose fetch itself waits for news sets `long_polls = True`: the
    engine then fetches again at once.)"""

    @property
    def kind(self) -> str:
        """`mastodon`, `bluesky`, `x`, `telegram`: the messages' `source`."""
        ...

    async def fetch(self, session: aiohttp.ClientSession, cursor: str | None) -> Batch:
        """What came after `cursor`, oldest first; raises `ConnectorError` when the network
        cannot be read now."""
        ...


def retry_after_seconds(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or an HTTP date) or from the reset
    headers networks send with rate limits (`x-rate-limit-reset`, X, epoch seconds;
    `x-ratelimit-reset`, Mastodon, ISO 8601; `ratelimit-reset`, Bluesky, epoch seconds)."""
    found: list[float] = []
    raw = headers.get("Retry-After")
    if raw:
        raw = raw.strip()
        if raw.isdigit():
            found.append(float(raw))
        else:
            try:
                when = email.utils.parsedate_to_datetime(raw)
                found.append((when - now).total_seconds())
            except (TypeError, ValueError):
                log.warning("connector: unreadable Retry-After %r", raw[:64])
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        reset = headers.get(name)
        if not reset:
            continue
        reset = reset.strip()
        try:
            if reset.replace(".", "", 1).isdigit():
                found.append(float(reset) - now.timestamp())
            else:
                found.append((dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
                              - now).total_seconds())
        except ValueError:
            log.warning("connector: unreadable %s %r", name, reset[:64])
    if not found:
        return None
    return min(max(max(found), 0.0), MAX_WAIT_SECONDS)


def exhausted(headers: Mapping[str, str]) -> bool:
    """Whether the network says no requests remain in this window (X:
    `x-rate-limit-remaining`; Mastodon: `x-ratelimit-remaining`; Bluesky:
    `ratelimit-remaining`)."""
    for name in ("x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining"):
        value = headers.get(name, "").strip()
        if value.isdigit() and int(value) == 0:
            return True
    return False


def raise_for_status(status: int, headers: Mapping[str, str], now: dt.datetime,
                     what: str) -> None:
    """Turn an HTTP answer that is not a success into the connector error it means."""
    if 200 <= status < 300:
        return
    if status == 429:
        raise RateLimited(f"{what}: rate limited (429)", retry_after_seconds(headers, now))
    if status in (401, 403):
        raise NotAuthorised(f"{what}: {status}: check the credentials and their scopes")
    # A server error's rate-limit headers describe the window, not when to come back:
    # only its own Retry-After counts (else the engine's back-off).
    retry = {"Retry-After": headers["Retry-After"]} if "Retry-After" in headers else {}
    raise ConnectorError(f"{what}: HTTP {status}", retry_after_seconds(retry, now))
