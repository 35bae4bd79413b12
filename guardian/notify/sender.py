"""Sends what the outbox holds, through apprise, one attempt per claim.

For a claimed notification the sender looks up the recipient's channels in the current
policy (in order of preference), fills in `{env:NAME}` secrets, and tries the current
channel once, in a thread (apprise's plugins block, and some sleep to throttle
themselves). Every attempt is recorded with the URL masked by apprise
(`url(privacy=True)`); a secret is never logged nor stored. A failure is retried later
(exponential back-off with jitter, written to `available_at`: no sleeping, and a restart
loses nothing); after `max_attempts` on one channel the next channel is tried; when the
last one fails the notification is `failed` and an `admin_alert` is queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.notify import outbox
from guardian.notify.outbox import Alert, Attempt, Next
from guardian.pipeline import worker_name
from guardian.policy.channels import ENV_REF, apprise_module, redact, resolve
from guardian.policy.model import Policy
from guardian.storage.db import utcnow
from guardian.storage.models import Notification, NotificationKind, NotificationStatus

log = logging.getLogger(__name__)


@dataclass
class SenderConfig:
    batch_size: int = 16
    lease_seconds: float = 120.0
    # Attempts on one channel before falling back to the person's next channel.
    max_attempts: int = 4
    # Back-off after the n-th failed attempt: base * 2**(n-1), capped, times 1..1+jitter.
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    jitter: float = 0.25
    # Who is told when every channel failed; default: the policy's last-resort contact.
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
    engine: AsyncEngine
    policy: Callable[[], Policy]
    config: SenderConfig = field(default_factory=SenderConfig)
    name: str = field(default_factory=worker_name)
    clock: Callable[[], dt.datetime] = utcnow
    rand: Callable[[], float] = random.random
    environ: Mapping[str, str] | None = None  # default: os.environ

    async def run_once(self) -> int:
        """Claim one batch and try each notification once; return how many were claimed."""
        claimed, lease = await outbox.claim_due(self.engine, self.clock(),
                                                self.config.batch_size,
                                                self.config.lease_seconds, owner=self.name)
        if claimed:
            try:
                await asyncio.gather(*(self.process(n, lease) for n in claimed))
            except BaseException:
                await outbox.release(engine=self.engine, lease=lease, now=self.clock())
                raise
        return len(claimed)

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Run until nothing is due at the clock's current time (tests, one-shot CLI)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            if done == 0:
                break
            total += done
        return total

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure on a channel."""
        base = min(self.config.retry_base_seconds * 2.0 ** max(attempts - 1, 0),
                   self.config.retry_max_seconds)
        return base * (1 + self.config.jitter * self.rand())

    async def process(self, notification: Notification, lease: str) -> bool:
        """Try the notification's current channel once and record what happened."""
        assert notification.id is not None
        channels = self._channels(notification.recipient)
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
        if result.ok:
            nxt = Next(status=NotificationStatus.sent, channel_index=index,
                       attempts=notification.attempts + 1, available_at=now)
            return await outbox.record_result(engine=self.engine, notification=notification,
                                              lease=lease, now=now, attempts=[attempt],
                                              next=nxt)
        attempts = notification.attempts + 1
        log.warning("notification %s to %s: channel %d failed (attempt %d of %d): %s",
                    notification.id, notification.recipient, index, attempts,
                    self.config.max_attempts, result.error)
        if attempts < self.config.max_attempts and not result.permanent:
            nxt = Next(status=NotificationStatus.pending, channel_index=index,
                       attempts=attempts, last_error=result.error,
                       available_at=now + dt.timedelta(seconds=self.backoff(attempts)))
        elif index + 1 < len(channels):
            nxt = Next(status=NotificationStatus.pending, channel_index=index + 1, attempts=0,
                       last_error=result.error, available_at=now)
        else:
            return await self._give_up(notification, lease, [attempt],
                                       result.error or "the last channel failed")
        return await outbox.record_result(engine=self.engine, notification=notification,
                                          lease=lease, now=now, attempts=[attempt], next=nxt)

    def _channels(self, recipient: str) -> list[str] | None:
        person = self.policy().people.get(recipient)
        return None if person is None else list(person.channels)

    async def _give_up(self, notification: Notification, lease: str, attempts: list[Attempt],
                       why: str) -> bool:
        now = self.clock()
        admin = self.config.admin
        policy = self.policy()
        if admin is None and policy.escalation is not None:
            admin = policy.escalation.last_resort
        alert = None
        if notification.kind == NotificationKind.admin_alert.value or admin is None:
            # An alert about an alert would loop; the log is the last resort here.
            log.error("notification %s to %s failed for good, and no one else can be told: %s",
                      notification.id, notification.recipient, why)
        else:
            alert = Alert(recipient=admin, idempotency_key=f"admin_alert:{notification.id}",
                          body=(f"Guardian could not deliver a {notification.kind} notification "
                                f"(#{notification.id}) to {notification.recipient} on any of "
                                f"their channels. Last error: {why}"))
            log.error("notification %s to %s failed on every channel; %s is told: %s",
                      notification.id, notification.recipient, admin, why)
        nxt = Next(status=NotificationStatus.failed, channel_index=notification.channel_index,
                   attempts=notification.attempts + len(attempts), last_error=why,
                   available_at=now)
        return await outbox.record_result(engine=self.engine, notification=notification,
                                          lease=lease, now=now, attempts=attempts, next=nxt,
                                          alert=alert)

    async def _send(self, template: str, notification: Notification) -> SendResult:
        """One try on one channel; nothing here raises."""
        # The template keeps secrets as {env:NAME}: redacted, it is safe to show.
        shown = redact(template)
        url = resolve(template, self.environ)
        if url is None:
            return SendResult(False, shown, "a secret this channel needs ({env:…}) is not set "
                              "in the service's environment", 0.0, permanent=True)
        apprise = apprise_module()
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        if plugin is None:
            return SendResult(False, shown, "apprise does not accept this channel URL", 0.0,
                              permanent=True)
        masked = str(plugin.url(privacy=True))
        title = f"Guardian: {notification.kind.replace('_', ' ')}"

        def send() -> tuple[bool, str | None]:
            notifier = apprise.Apprise()
            notifier.add(plugin)
            with notifier.notify(body=notification.body, title=title) as result:
                ok = bool(result)
                errors = [entry.message for entry in result.logs()
                          if entry.level in ("WARNING", "ERROR", "CRITICAL")]
            return ok, "; ".join(errors) or (None if ok else "apprise reported a failure")

        started = time.perf_counter()
        try:
            ok, error = await asyncio.to_thread(send)
        except Exception as exc:  # a plugin bug must not stop the sender
            ok, error = False, f"{type(exc).__name__}: {exc}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        env = os.environ if self.environ is None else self.environ
        secrets = [env[name] for name in ENV_REF.findall(template) if name in env]
        return SendResult(ok, masked, _scrub(error, secrets), elapsed_ms)


def _scrub(text: str | None, secrets: list[str]) -> str | None:
    """Remove the URL's secret values from an error text (apprise masks its own logs; an
    exception message might not)."""
    if text is None:
        return None
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "****")
    return text
