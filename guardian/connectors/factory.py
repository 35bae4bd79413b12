"""From a policy's `connectors` entry to the object that reads its network, with its
`{env:NAME}` credentials resolved (from the environment or GUARDIAN_SECRETS_FILE)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping

from guardian.connectors.base import PollingConnector
from guardian.connectors.bluesky import BlueskyConnector
from guardian.connectors.mastodon import MastodonConnector
from guardian.connectors.telegram import TelegramConnector
from guardian.connectors.x import XConnector
from guardian.policy.model import Connector
from guardian.policy.urls import ENV_REF

log = logging.getLogger(__name__)


def credential(reference: str | None, environ: Mapping[str, str]) -> str | None:
    """The value an `{env:NAME}` reference names; None when it is unset or empty."""
    if reference is None:
        return None
    found = ENV_REF.fullmatch(reference)
    value = environ.get(found.group(1), "") if found else ""
    return value or None


# The fields of a connector that hold `{env:NAME}` credentials.
CREDENTIAL_FIELDS = ("token", "password", "secret", "verify_token", "oauth1")


def missing_credentials(spec: Connector, environ: Mapping[str, str]) -> list[str]:
    """The environment variables a connector needs and lacks (for `/health`)."""
    missing = []
    for field in CREDENTIAL_FIELDS:
        reference = getattr(spec, field)
        if reference is not None and credential(reference, environ) is None:
            found = ENV_REF.fullmatch(reference)
            missing.append(found.group(1) if found else field)
    return missing


def polling_connector(spec: Connector, environ: Mapping[str, str], *,
                      clock: Callable[[], dt.datetime] | None = None
                      ) -> PollingConnector | None:
    """The connector that polls `spec`'s network, or None (with the reason logged) when a
    credential is missing or the kind is not polled."""
    missing = missing_credentials(spec, environ)
    if missing:
        log.error("connector %s: %s not set; it will not run until it is", spec.id,
                  ", ".join(missing))
        return None
    token = credential(spec.token, environ) or ""
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    if spec.kind == "mastodon":
        assert spec.url is not None
        return MastodonConnector(spec.url, token, clock=clock)
    if spec.kind == "bluesky":
        assert spec.account is not None
        return BlueskyConnector(spec.url or "https://bsky.social", spec.account,
                                credential(spec.password, environ) or "", clock=now)
    if spec.kind == "x":
        assert spec.account is not None
        return XConnector(spec.account, token, api=spec.url or "https://api.x.com", clock=now)
    if spec.kind == "telegram" and spec.secret is None:
        # Long polling: the request waits for the next update (at most the poll interval).
        return TelegramConnector(token, api=spec.url or "https://api.telegram.org",
                                 timeout=max(0, min(25, int(spec.poll_seconds))))
    log.error("connector %s: kind %s is not polled by this version", spec.id, spec.kind)
    return None


def cursor_since(spec: Connector, when: dt.datetime) -> str | None:
    """A cursor that makes the connector read what came after `when` (`guardian connectors
    backfill --since`), or None when its network offers no way back.

    Mastodon's notification ids are the instance's own sequence: the cursor carries the
    instant, and the connector walks back to it. X's ids are snowflakes (milliseconds since
    its epoch 1288834974657, shifted 22); Bluesky's cursor is the notification time.
    Telegram keeps undelivered updates for 24 hours and numbers them only: there is no
    going back further than what it still holds.
    """
    millis = int(when.timestamp() * 1000)
    if spec.kind == "mastodon":
        return f"since:{when.astimezone(dt.UTC).isoformat()}"
    if spec.kind == "x":
        return str(max(millis - 1288834974657, 0) << 22)
    if spec.kind == "bluesky":
        at = when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return json.dumps({"at": at, "uri": ""}, separators=(",", ":"))
    return None
