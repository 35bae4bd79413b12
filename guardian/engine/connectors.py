"""The `connectors` job: every polled connector of the policy in force, fetched in turn and
stored with its cursor in one transaction.

One process of many runs each connector, by a lease in `connector_state` (renewed at every
round, taken over when a process dies); the others pass. A connector's stream (Mastodon)
only wakes this job. A network that asks us to wait (`Retry-After`, a rate-limit window
used up) is left alone until then; one that fails is retried after 5 s, doubled each time
up to 15 minutes; wrong credentials after 15 minutes straight away. Nothing a network sends
can crash the job: a malformed event is skipped and counted, an error is recorded in the
connector's status (`/health`, metrics, `guardian connectors status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian import metrics
from guardian.connectors.base import Batch, ConnectorError, NotAuthorised, PollingConnector
from guardian.connectors.factory import CREDENTIAL_FIELDS, credential, polling_connector
from guardian.engine.triage import Triage
from guardian.policy.model import Connector, Policy
from guardian.schemas import MessageIn
from guardian.storage.connectors import (
    LeaseLost,
    advance,
    record_failure,
    release,
    take_lease,
)
from guardian.storage.db import utcnow
from guardian.storage.messages import announce, store_messages

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
FIRST_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 900.0
STREAM_RETRY_SECONDS = 30.0


def backoff_seconds(failures: int) -> float:
    """After the `failures`-th failure in a row: 5 s, 10 s, 20 s … up to 15 minutes."""
    return min(FIRST_BACKOFF_SECONDS * 2.0 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS)


def clean(message: MessageIn, max_text: int) -> MessageIn | None:
    """What a network sent, made storable: NULs and unpaired surrogates (which PostgreSQL
    refuses, and which would stop the feed at that event for ever) replaced; None for an
    empty or over-long text (skipped and counted, as ingest would refuse it)."""

    def safe(value: str) -> str:
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")

    text = safe(message.text)
    if not text.strip() or len(text) > max_text:
        return None
    author = message.author.model_copy(update={
        "handle": safe(message.author.handle),
        "name": safe(message.author.name) if message.author.name else None})
    return message.model_copy(update={"text": text, "author": author})


@dataclass
class _Running:
    spec: Connector
    connector: PollingConnector
    next_poll: dt.datetime
    credentials: tuple[str | None, ...]
    stream: asyncio.Task[None] | None = None


class Connectors:
    """The job. `wake_pipeline` is called after messages were stored (this process's
    pipeline; other processes hear of them through PostgreSQL's NOTIFY)."""

    name = "connectors"

    def __init__(self, engine: AsyncEngine, policy: Callable[[], Policy | None], *,
                 environ: Mapping[str, str] | None = None,
                 wake_pipeline: Callable[[], None] = lambda: None,
                 max_text: int = 5000, clock: Callable[[], dt.datetime] = utcnow,
                 owner: str | None = None, lease_seconds: float = LEASE_SECONDS,
                 triage: Triage | None = None) -> None:
        self.engine = engine
        self.policy = policy
        self.triage = triage or Triage(policy)
        self.environ = os.environ if environ is None else environ
        self.wake_pipeline = wake_pipeline
        self.max_text = max_text
        self.clock = clock
        self.owner = owner or f"{os.uname().nodename[:24]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease_seconds = lease_seconds
        self._running: dict[str, _Running] = {}
        # Connectors that cannot run (a missing secret), with what they were built from.
        self._unbuildable: dict[str, tuple[Connector, tuple[str | None, ...]]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._wake: Callable[[], None] = lambda: None

    # --- Lifecycle ------------------------------------------------------------------------

    async def start(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60, sock_connect=10),
            headers={"User-Agent": "Guardian (town hall feed guard)"})

    def stopping(self) -> None:
        for running in self._running.values():
            if running.stream is not None:
                running.stream.cancel()

    async def close(self) -> None:
        for name, running in list(self._running.items()):
            if running.stream is not None:
                running.stream.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running.stream
            with contextlib.suppress(Exception):
                await release(engine=self.engine, name=name, owner=self.owner)
        self._running.clear()
        await self.triage.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- rounds ---------------------------------------------------------------------------

    def _specs(self) -> list[Connector]:
        policy = self.policy()
        if policy is None:
            return []
        return [c for c in policy.connectors if c.enabled and c.polled]

    def _credentials(self, spec: Connector) -> tuple[str | None, ...]:
        return tuple(credential(getattr(spec, f), self.environ)
                     for f in CREDENTIAL_FIELDS)

    def _sync(self, specs: list[Connector], now: dt.datetime) -> None:
        """Start what the policy added or changed (or whose secrets changed, in the
        environment or the secrets file); stop what it removed."""
        wanted = {spec.id: (spec, self._credentials(spec)) for spec in specs}
        for name in [n for n, r in self._running.items()
                     if wanted.get(n) != (r.spec, r.credentials)]:
            gone = self._running.pop(name)
            if gone.stream is not None:
                gone.stream.cancel()
        for name, (spec, credentials) in wanted.items():
            if name in self._running:
                continue
            if self._unbuildable.get(name) == (spec, credentials):
                continue  # said once already; said again when something changes
            connector = polling_connector(spec, self.environ, clock=self.clock)
            if connector is None:
                self._unbuildable[name] = (spec, credentials)
                continue
            self._unbuildable.pop(name, None)
            self._running[name] = _Running(spec, connector, next_poll=now,
                                           credentials=credentials)

    async def run_once(self) -> int:
        if self._session is None:  # run without the loop (tests, one-shot commands)
            await self.start(lambda: None)
        now = self.clock()
        self._sync(self._specs(), now)
        # Side by side: a slow network (or Telegram's long poll) holds up no other.
        due = [(n, r) for n, r in self._running.items() if r.next_poll <= now]
        return sum(await asyncio.gather(*(self._round(n, r) for n, r in due)))

    async def _round(self, name: str, running: _Running) -> int:
        assert self._session is not None
        now = self.clock()
        state = await take_lease(engine=self.engine, name=name, kind=running.spec.kind,
                                 owner=self.owner, now=now, seconds=self.lease_seconds)
        # Whoever holds it or not, look again within a poll (or a lease, to take over).
        running.next_poll = now + dt.timedelta(seconds=running.spec.poll_seconds)
        if state is None:
            if running.stream is not None:
                running.stream.cancel()
                running.stream = None
            return 0
        self._ensure_stream(name, running)
        if state.wait_until is not None and state.wait_until > now:
            running.next_poll = min(running.next_poll, state.wait_until)
            return 0
        try:
            batch = await running.connector.fetch(self._session, state.cursor)
        except ConnectorError as exc:
            await self._failed(name, running, str(exc), exc.retry_after,
                               slow=isinstance(exc, NotAuthorised), failures=state.failures)
            return 0
        except Exception as exc:  # a bug or a surprise: recorded, never the end of the feed
            log.exception("connector %s: fetch failed", name)
            await self._failed(name, running, f"{type(exc).__name__}: {exc}"[:300], None,
                               slow=False, failures=state.failures)
            return 0
        stored = await self._store(name, batch, now, state.cursor)
        if stored is None:
            return 0
        if batch.more or getattr(running.connector, "long_polls", False):
            # More is waiting, or a long poll (which waited already): again at once.
            running.next_poll = now
        return stored + (1 if batch.more else 0)

    async def _store(self, name: str, batch: Batch, now: dt.datetime,
                     fetched_from: str | None) -> int | None:
        messages = []
        skipped = batch.skipped
        for message in batch.messages:
            kept = clean(message, self.max_text)
            if kept is None:
                skipped += 1
            else:
                messages.append(kept)
        # Before the transaction: triage may read the overrides (SQLite has one connection).
        priorities = await self.triage.priorities(messages, now)
        try:
            async with self.engine.begin() as conn:
                stored = (await store_messages(conn=conn, messages=messages, now=now,
                                               priorities=priorities) if messages else [])
                new = sum(1 for s in stored if not s.duplicate)
                await advance(conn=conn, name=name, owner=self.owner, cursor=batch.cursor,
                              events=new, skipped=skipped, now=now,
                              last_event_at=max((m.created_at for m in messages),
                                                default=None),
                              fetched_from=fetched_from)
                if new:
                    await announce(conn)
        except LeaseLost:
            log.warning("connector %s: another process took it over, or its cursor was "
                        "moved (backfill); this fetch is dropped and read again", name)
            return None
        metrics.CONNECTOR_EVENTS.labels(connector=name).inc(new)
        metrics.CONNECTOR_SKIPPED.labels(connector=name).inc(skipped)
        metrics.INGESTED.inc(new)
        metrics.DUPLICATES.inc(len(stored) - new)
        if skipped:
            log.warning("connector %s: %d event(s) skipped (malformed or empty)", name,
                        skipped)
        if new:
            self.wake_pipeline()
        return new

    async def _failed(self, name: str, running: _Running, error: str,
                      retry_after: float | None, *, slow: bool, failures: int) -> None:
        wait = retry_after if retry_after else (
            MAX_BACKOFF_SECONDS if slow else backoff_seconds(failures + 1))
        now = self.clock()
        until = now + dt.timedelta(seconds=wait)
        count = await record_failure(engine=self.engine, name=name, owner=self.owner,
                                     error=error, now=now, wait_until=until)
        running.next_poll = until
        metrics.CONNECTOR_ERRORS.labels(connector=name).inc()
        log.warning("connector %s: %s (failure %d in a row); trying again in %.0f s", name,
                    error, count, wait)

    # --- streams ----------------------------------------------------------------------------

    def _ensure_stream(self, name: str, running: _Running) -> None:
        listen = getattr(running.connector, "listen", None)
        if listen is None or (running.stream is not None and not running.stream.done()):
            return

        def heard() -> None:
            running.next_poll = self.clock()
            self._wake()

        async def follow() -> None:
            assert self._session is not None
            while True:
                try:
                    await listen(self._session, heard)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the poll carries on without the stream
                    log.info("connector %s: stream ended (%s); polling meanwhile", name,
                             type(exc).__name__)
                await asyncio.sleep(STREAM_RETRY_SECONDS)

        running.stream = asyncio.create_task(follow(), name=f"guardian-stream-{name}")
