"""`guardian channels test STAFF_ID`: a short test message on each of a person's channels.

The message goes through apprise directly, not through the outbox: nothing is stored, and
the answer is immediate. Each channel is tried once, in the policy's order, and reported
with its URL as apprise masks it (`url(privacy=True)`): a secret is never printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from guardian.notify.channels import (
    apprise_module,
    missing_secrets,
    resolve,
    scrub,
    secret_values,
)
from guardian.policy.model import StaffMember
from guardian.policy.urls import redact

TITLES = {"es": "Prueba de Guardian", "en": "Guardian test"}
BODIES = {
    "es": "Mensaje de prueba de Guardian para {name}: si lo lees, este canal funciona.",
    "en": "Guardian test message for {name}: if you read this, this channel works.",
}


@dataclass(frozen=True)
class ChannelResult:
    index: int          # the channel's place in the person's list, from 1
    masked_url: str
    ok: bool
    duration_ms: float
    error: str | None = None

    def line(self) -> str:
        status = "OK" if self.ok else "FAILED"
        text = f"{self.index}  {self.masked_url}  {status}  {self.duration_ms:.0f} ms"
        return text + (f"  {self.error}" if self.error else "")

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "url": self.masked_url, "ok": self.ok,
                "duration_ms": round(self.duration_ms, 1), "error": self.error}


def message_for(person: StaffMember) -> tuple[str, str]:
    """The title and body of the test message, in the person's first language."""
    lang = person.languages[0] if person.languages else "es"
    lang = lang if lang in BODIES else "en"
    return TITLES[lang], BODIES[lang].format(name=person.name)


def check_channel(index: int, template: str, title: str, body: str,
                  environ: Mapping[str, str] | None = None) -> ChannelResult:
    """Send the message once on one channel (blocking); nothing here raises."""
    missing = missing_secrets(template, environ)
    if missing:
        names = ", ".join(missing)
        return ChannelResult(index, redact(template), False, 0.0,
                             f"{names} (written {{env:NAME}}) is not set in the environment "
                             "or the secrets file")
    url = resolve(template, environ)
    apprise = apprise_module()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True) if url else None
    if plugin is None:
        return ChannelResult(index, redact(template), False, 0.0,
                             "apprise does not accept this channel URL (unknown service, or a "
                             "part missing or malformed)")
    masked = redact(str(plugin.url(privacy=True)))
    started = time.perf_counter()
    try:
        notifier = apprise.Apprise()
        notifier.add(plugin)
        with notifier.notify(body=body, title=title) as result:
            ok = bool(result)
            errors = [entry.message for entry in result.logs()
                      if entry.level in ("WARNING", "ERROR", "CRITICAL")]
        error = "; ".join(errors) or (None if ok else "apprise reported a failure")
    except Exception as exc:  # a plugin bug is this channel's failure, not the command's
        ok, error = False, f"{type(exc).__name__}: {exc}"
    elapsed_ms = (time.perf_counter() - started) * 1000
    return ChannelResult(index, masked, ok, elapsed_ms,
                         scrub(error, secret_values(template, environ)))


def check_person(person: StaffMember, environ: Mapping[str, str] | None = None
                 ) -> Iterator[ChannelResult]:
    """Each of the person's channels in turn, yielded as soon as it has been tried."""
    title, body = message_for(person)
    for index, template in enumerate(person.channels, start=1):
        yield check_channel(index, template, title, body, environ)

