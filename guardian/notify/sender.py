"""Sends what the outbox holds, through apprise, one attempt per claim.

For a claimed notification the sender first asks whether it may go now
(`guardian.notify.timing`: quiet hours, duty, the hourly cap; pages always may; a page
already acknowledged is cancelled). Then it looks up the recipient's channels in the
current policy (in order of preference), fills in `{env:NAME}` secrets, renders the
notification's template for that channel (format and length, in the recipient's
language), and tries the current channel once, in a thread (apprise's plugins block, and
some sleep to throttle themselves). Every attempt is recorded with the URL masked by apprise
(`url(privacy=True)`); a secret is never logged nor stored. A failure is retried later
(exponential back-off with jitter, written to `available_at`: no sleeping, and a restart
loses nothing); after the policy's `delivery.attempts_per_channel` on one channel the next
channel is tried; when the last one fails the notification is `failed` and an
`admin_alert` is queued for each of the policy's admins.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian import metrics
from guardian.notify.channels import apprise_module, resolve, scrub, secret_values
from guardian.notify.compose import language_of
from guardian.notify.render import ChannelStyle, render
from guardian.notify.timing import Later, when_to_send
from guardian.policy.model import Policy
from guardian.policy.urls import redact
from guardian.schedule.availability import Availability
from guardian.storage import outbox
from guardian.storage.db import utcnow, worker_name
from guardian.storage.models import Notification
from guardian.storage.outbox import Alert, Attempt, Next
from guardian.storage.pages import page_status
from guardian.types import NotificationKind, NotificationStatus, PageStatus

log = logging.getLogger(__name__)


@dataclass
class SenderConfig:
    batch_size: int = 16
    # Renewed every third of it while a batch is sent (see `Sender._renew`).
    lease_seconds: float = 30.0
    # Attempts on one channel before falling back to the person's next channel, and the
    # back-off after the n-th failed attempt: base * 2**(n-1), capped, times 1..1+jitter.
    # None: the policy's `delivery` section says.
    max_attempts: int | None = None
    retry_base_seconds: float | None = None
    retry_max_seconds: float | None = None
    jitter: float = 0.25
    # Who is told when every channel failed; default: the policy's `delivery.admins`, else
    # its last-resort contact.
    admin: str | None = None


@dataclass(frozen=True)
class SendResult:
    ok: bool
    masked_url: str
    error: str | None
    duration_ms: float
    # A failure that a retry will not fix (unknown person, missing secret, bad URL): the
    # next channel is tried at once.
    permanent: bool = False


@dataclass
class Sender:
    """The outbox's sender, a job of the engine: each round claims a batch of due
    notifications and tries each once."""

    name: ClassVar[str] = "sender"
    engine: AsyncEngine
    policy: Callable[[], Policy]
    config: SenderConfig = field(default_factory=SenderConfig)
    owner: str = field(default_factory=worker_name)   # signs the leases it takes
    clock: Callable[[], dt.datetime] = utcnow
    rand: Callable[[], float] = random.random
    environ: Mapping[str, str] | None = None  # default: os.environ, then the secrets file
    # The availability of staff at an instant (overrides included); None: send without
    # the send-time checks (quiet hours, duty, cap).
    duty: Callable[[dt.datetime], Awaitable[Availability | None]] | None = None
    # Every notification to this URL instead of the person's channels (`{person}` is the
    # staff id): development and staging (GUARDIAN_DELIVER_TO).
    redirect: str | None = None
    # Instead of apprise: called with each notification and the channel it would take
    # (`guardian simulate` records deliveries with it); None: apprise.
    transport: Callable[[str, Notification], Awaitable[SendResult]] | None = None
    # Posts a `citizen_reply` on the citizen's network (guardian/connectors/replies.py);
    # None: such replies fail for good (nothing in this process can post them).
    replier: Callable[[Notification], Awaitable[SendResult]] | None = None

    async def run_once(self) -> int:
        """Claim one batch and try each notification once; return how many were claimed."""
        claimed, lease = await outbox.claim_due(self.engine, self.clock(),
                                                self.config.batch_size,
                                                self.config.lease_seconds, owner=self.owner)
        if claimed:
            # One person's notifications one after the other: a page first, then in the
            # order they were queued (a backlog after an outage arrives in order); people
            # in parallel.
            mine: dict[str, list[Notification]] = {}
            for notification in sorted(claimed, key=lambda n: (-n.priority, n.available_at,
                                                               n.id or 0)):
                mine.setdefault(notification.recipient, []).append(notification)

            async def in_order(items: list[Notification]) -> None:
                for item in items:
                    await self.process(item, lease)

            renewing = asyncio.create_task(self._renew(lease), name="guardian-sender-lease")
            try:
                await asyncio.gather(*(in_order(items) for items in mine.values()))
            except BaseException:
                await outbox.hand_back(engine=self.engine, lease=lease, now=self.clock())
                raise
            finally:
                renewing.cancel()
        return len(claimed)

    async def _renew(self, lease: str) -> None:
        """Keep the lease while the batch is being sent: a short lease, renewed every third
        of it, follows the sends' real progress; a sender that dies leaves its
        notifications to the others within one lease, not after a fixed two minutes."""
        every = self.config.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            await outbox.extend_lease(
                engine=self.engine, lease=lease,
                until=self.clock() + dt.timedelta(seconds=self.config.lease_seconds))

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Run until nothing is due at the clock's current time (tests, one-shot CLI)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            if done == 0:
                break
            total += done
        return total

    def max_attempts(self) -> int:
        if self.config.max_attempts is not None:
            return self.config.max_attempts
        return self.policy().delivery.attempts_per_channel

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure on a channel."""
        delivery = self.policy().delivery
        first = (self.config.retry_base_seconds if self.config.retry_base_seconds is not None
                 else delivery.retry_base_seconds)
        cap = (self.config.retry_max_seconds if self.config.retry_max_seconds is not None
               else delivery.retry_max_seconds)
        base = min(first * 2.0 ** max(attempts - 1, 0), cap)
        return base * (1 + self.config.jitter * self.rand())

    async def _hold_back(self, notification: Notification, lease: str) -> bool | None:
        """Apply the send-time rules; None when the notification may go now, else the
        result of moving it (later, into a digest, or cancelled)."""
        now = self.clock()
        if notification.kind == NotificationKind.page.value and notification.page_id:
            async with self.engine.connect() as conn:
                status = await page_status(conn=conn, page_id=notification.page_id)
            if status is not None and status != PageStatus.open.value:
                nxt = Next(status=NotificationStatus.cancelled,
                           channel_index=notification.channel_index,
                           attempts=notification.attempts, available_at=now,
                           last_error=f"the page is {status}: no longer needed")
                return await outbox.record_result(engine=self.engine, notification=notification,
                                                  lease=lease, now=now, attempts=[], next=nxt)
        if self.duty is None:
            return None
        avail = await self.duty(now)
        if avail is None:
            return None
        sent = 0
        if notification.capped:
            async with self.engine.connect() as conn:
                counts = await outbox.sent_counts(
                    conn=conn, since=now - dt.timedelta(hours=1),
                    recipients=[notification.recipient])
            # The count includes this notification while it is pending and due.
            sent = max(counts.get(notification.recipient, 0) - 1, 0)
        verdict = when_to_send(notification.kind, notification.recipient, now, avail,
                               sent_last_hour=sent, capped=notification.capped,
                               limit=avail.policy.rate_limits.max_per_person_per_hour)
        if not isinstance(verdict, Later):
            return None
        log.info("notification %s to %s waits until %s: %s", notification.id,
                 notification.recipient, verdict.at.isoformat(), verdict.reason)
        nxt = Next(status=(NotificationStatus.waiting if verdict.to_digest
                           else NotificationStatus.pending),
                   channel_index=notification.channel_index, attempts=notification.attempts,
                   available_at=verdict.at, due_at=verdict.at, last_error=verdict.reason)
        return await outbox.record_result(engine=self.engine, notification=notification,
                                          lease=lease, now=now, attempts=[], next=nxt)

    async def process(self, notification: Notification, lease: str) -> bool:
        """Try the notification's current channel once and record what happened."""
        assert notification.id is not None
        # A citizen has no quiet hours of ours, nor an hourly cap (the policy's own
        # per-author limit applied when the reply was queued).
        if notification.kind != NotificationKind.citizen_reply.value:
            held = await self._hold_back(notification, lease)
            if held is not None:
                return held
        channels = self._channels(notification.recipient, notification)
        index = notification.channel_index
        if channels is None or index >= len(channels):
            why = (f"`{notification.recipient}` is not in the policy" if channels is None
                   else f"`{notification.recipient}` has no channel left to try")
            return await self._give_up(notification, lease, [], why)
        if not await outbox.holds_lease(engine=self.engine, notification_id=notification.id,
                                        lease=lease):
            return False
        result = await self._send(channels[index], notification)
        now = self.clock()
        attempt = Attempt(channel_index=index, channel_url_masked=result.masked_url,
                          ok=result.ok, error=result.error, duration_ms=result.duration_ms)
        label = metrics.channel_label(result.masked_url)
        if result.ok:
            nxt = Next(status=NotificationStatus.sent, channel_index=index,
                       attempts=notification.attempts + 1, available_at=now)
            metrics.NOTIFICATIONS_SENT.labels(channel=label, kind=notification.kind).inc()
            metrics.NOTIFICATION_DELIVERY_SECONDS.labels(channel=label).observe(
                max((now - notification.due_at).total_seconds(), 0.0))
            return await outbox.record_result(engine=self.engine, notification=notification,
                                              lease=lease, now=now, attempts=[attempt],
                                              next=nxt)
        attempts = notification.attempts + 1
        metrics.NOTIFICATION_ATTEMPTS_FAILED.labels(channel=label).inc()
        most = self.max_attempts()
        log.warning("notification %s to %s: channel %d failed (attempt %d of %d): %s",
                    notification.id, notification.recipient, index, attempts, most,
                    result.error)
        if attempts < most and not result.permanent:
            nxt = Next(status=NotificationStatus.pending, channel_index=index,
                       attempts=attempts, last_error=result.error,
                       available_at=now + dt.timedelta(seconds=self.backoff(attempts)))
        elif index + 1 < len(channels):
            nxt = Next(status=NotificationStatus.pending, channel_index=index + 1, attempts=0,
                       last_error=result.error, available_at=now)
        else:
            why = result.error or "the last channel failed"
            # From when it was due (a digest's time, the end of quiet hours...).
            expires = notification.due_at + self.policy().delivery.expiry(notification.kind)
            # A network that refused a citizen's reply (the post is gone, the window is
            # closed) will refuse it again: no outage retries. A staff channel's permanent
            # failure (a secret not set) is retried: an admin can fix it meanwhile.
            refused = (result.permanent
                       and notification.kind == NotificationKind.citizen_reply.value)
            if now < expires and not refused:
                return await self._outage(notification, lease, [attempt], why, expires)
            metrics.NOTIFICATIONS_FAILED.labels(channel=label, kind=notification.kind).inc()
            return await self._give_up(notification, lease, [attempt], why)
        return await outbox.record_result(engine=self.engine, notification=notification,
                                          lease=lease, now=now, attempts=[attempt], next=nxt)

    def _channels(self, recipient: str, notification: Notification | None = None
                  ) -> list[str] | None:
        if recipient.startswith(CITIZEN_PREFIX):
            # Development and staging redirect these too: no test reaches a real citizen.
            return [self.redirect.replace("{person}", "citizen") if self.redirect
                    else REPLY_CHANNEL]
        person = self.policy().people.get(recipient)
        if person is None:
            return None
        if self.redirect:
            return [self.redirect.replace("{person}", recipient)]
        channels = list(person.channels)
        avoid = (notification.payload or {}).get("avoid") if notification is not None else None
        if avoid:
            # An alert about a failing channel never goes through that channel.
            channels = [c for c in channels if c not in avoid] or channels
        return channels

    async def _outage(self, notification: Notification, lease: str, attempts: list[Attempt],
                      why: str, expires: dt.datetime) -> bool:
        """Every channel failed: an outage, not a reason to drop it. The admins are told
        once (not through the failing channels), and the notification is tried again, all
        channels in order, every `delivery.outage_retry_minutes` until it expires. The
        retries fall on the same instants for every notification waiting, so a channel
        that comes back drains its backlog in the order it was queued."""
        now = self.clock()
        step = dt.timedelta(minutes=self.policy().delivery.outage_retry_minutes)
        epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        retry = epoch + step * ((now - epoch) // step + 1)
        metrics.NOTIFICATIONS_OUTAGE.labels(kind=notification.kind).inc()
        log.error("notification %s to %s: every channel failed; tried again every %s until "
                  "%s: %s", notification.id, notification.recipient, step,
                  expires.isoformat(), why)
        nxt = Next(status=NotificationStatus.pending, channel_index=0, attempts=0,
                   available_at=min(retry, expires),
                   last_error=f"every channel failed; tried again every "
                              f"{int(step.total_seconds() // 60)} min until "
                              f"{expires:%Y-%m-%d %H:%M}Z: {why}")
        return await outbox.record_result(engine=self.engine, notification=notification,
                                          lease=lease, now=now, attempts=attempts, next=nxt,
                                          alerts=self._alerts(notification, why))

    def _alerts(self, notification: Notification, why: str) -> list[Alert]:
        """One alert per admin about `notification` (idempotent: once however often its
        channels fail), avoiding the channels that failed."""
        admins = self._admins()
        # A reply that cannot be posted shows in its connector's status, not in alerts.
        if notification.kind in (NotificationKind.admin_alert.value,
                                 NotificationKind.backlog.value,
                                 NotificationKind.citizen_reply.value) or not admins:
            return []
        failing = self._channels(notification.recipient) or []
        payload = {"notification_id": notification.id, "recipient": notification.recipient,
                   "failed_kind": notification.kind, "error": why[:500], "avoid": failing}
        policy = self.policy()
        alerts = []
        for admin in admins:
            lang = language_of(policy, admin)
            alerts.append(Alert(
                recipient=admin, idempotency_key=f"admin_alert:{notification.id}:{admin}",
                body=render(NotificationKind.admin_alert.value, lang, payload).body,
                payload=payload, lang=lang))
        return alerts

    async def _give_up(self, notification: Notification, lease: str, attempts: list[Attempt],
                       why: str) -> bool:
        now = self.clock()
        alerts = self._alerts(notification, why)
        if not alerts:
            # An alert about an alert would loop; the log is the last resort here.
            log.error("notification %s to %s failed for good, and no one else can be told: %s",
                      notification.id, notification.recipient, why)
        else:
            log.error("notification %s to %s failed on every channel; %s told: %s",
                      notification.id, notification.recipient,
                      ", ".join(a.recipient for a in alerts), why)
        nxt = Next(status=NotificationStatus.failed, channel_index=notification.channel_index,
                   attempts=notification.attempts + len(attempts), last_error=why,
                   available_at=now)
        return await outbox.record_result(engine=self.engine, notification=notification,
                                          lease=lease, now=now, attempts=attempts, next=nxt,
                                          alerts=alerts)

    def _admins(self) -> list[str]:
        if self.config.admin is not None:
            return [self.config.admin]
        return self.policy().admin_contacts()

    async def _send(self, template: str, notification: Notification) -> SendResult:
        """One try on one channel; nothing here raises."""
        if self.transport is not None:
            return await self.transport(template, notification)
        if template == REPLY_CHANNEL:
            if self.replier is None:
                return SendResult(False, REPLY_CHANNEL, "replies to citizens are not posted "
                                  "by this process", 0.0, permanent=True)
            try:
                return await self.replier(notification)
            except Exception as exc:  # a bug must not stop the sender
                return SendResult(False, REPLY_CHANNEL, f"{type(exc).__name__}", 0.0)
        # The template keeps secrets as {env:NAME}: redacted, it is safe to show.
        shown = redact(template)
        url = resolve(template, self.environ)
        if url is None:
            return SendResult(False, shown, "a secret this channel needs ({env:…}) is not set "
                              "in the service's environment", 0.0, permanent=True)
        url = with_idempotency_key(url, notification.idempotency_key)
        apprise = apprise_module()
        # No apprise deadline: with one, apprise hops each call into its own process-wide
        # pool (cores + 4 threads), which caps sends in flight whatever our pool's size.
        # The plugins' socket timeouts still bound a channel that hangs.
        asset = apprise.AppriseAsset(service_timeout=0)
        plugin = apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)
        if plugin is None:
            return SendResult(False, shown, "apprise does not accept this channel URL", 0.0,
                              permanent=True)
        masked = redact(str(plugin.url(privacy=True)))
        if notification.payload:
            rendered = render(notification.kind, notification.lang, notification.payload,
                              ChannelStyle.of_plugin(plugin))
            title, body, body_format = rendered.title, rendered.body, rendered.format
        else:  # queued by hand, body only
            title = f"Guardian: {notification.kind.replace('_', ' ')}"
            body, body_format = notification.body, "text"

        def send() -> tuple[bool, str | None]:
            notifier = apprise.Apprise(asset=asset)
            notifier.add(plugin)
            with notifier.notify(body=body, title=title, body_format=body_format) as result:
                ok = bool(result)
                errors = [entry.message for entry in result.logs()
                          if entry.level in ("WARNING", "ERROR", "CRITICAL")]
            return ok, "; ".join(errors) or (None if ok else "apprise reported a failure")

        started = time.perf_counter()
        try:
            ok, error = await asyncio.get_running_loop().run_in_executor(_send_pool(), send)
        except Exception as exc:  # a plugin bug must not stop the sender
            ok, error = False, f"{type(exc).__name__}: {exc}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        return SendResult(ok, masked, scrub(error, secret_values(template, self.environ)),
                          elapsed_ms)


# A citizen's recipient in the outbox (guardian/engine/citizen_replies.py), and the one
# channel their replies take: the network they wrote in.
CITIZEN_PREFIX = "citizen:"
REPLY_CHANNEL = "reply:"

# Sends in flight per process: each blocks a thread for as long as its channel takes (a
# slow SMTP server, a chat API), so the pool is larger than the loop's default.
SEND_THREADS = 32
_pool: ThreadPoolExecutor | None = None


# Services that take custom headers through apprise (`?+Name=value`): webhooks.
_HEADER_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})


def with_idempotency_key(url: str, key: str) -> str:
    """A webhook's URL with the notification's idempotency key as an `Idempotency-Key`
    header, so the receiver can drop a repeat (a send whose answer was lost is sent once
    more: at least once, never lost)."""
    scheme = url.partition("://")[0].lower()
    if scheme not in _HEADER_SCHEMES or "+idempotency-key=" in url.lower():
        return url
    base, _, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    tail = f"#{fragment}" if fragment else ""
    return f"{base}{joiner}+Idempotency-Key={quote(key, safe='')}{tail}"


def _send_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="guardian-send")
    return _pool



