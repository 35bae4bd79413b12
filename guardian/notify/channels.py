"""Channel URLs checked and resolved for apprise: `{env:NAME}` references filled in from
the secrets (`guardian.config.secrets`), and secret values scrubbed from error texts."""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Mapping
from typing import Any

from guardian.config.secrets import secret_source
from guardian.policy.urls import ENV_REF


@functools.cache
def apprise_module() -> Any:
    # apprise's plugins import `imghdr` (deprecated since Python 3.11) when first used:
    # import it once here, quietly, so that later imports find it loaded.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import imghdr  # noqa: F401

        import apprise
    # apprise's debug lines carry whole URLs, custom headers' values (webhook keys)
    # included: never below INFO, whatever the service's log level.
    quiet = logging.getLogger("apprise")
    if quiet.level < logging.INFO:  # NOTSET (0) included: it would follow the root's
        quiet.setLevel(logging.INFO)
    return apprise


def resolve(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The URL with its `{env:NAME}` references filled in; None if one is not set.

    `environ` None means the environment, then the secrets file `GUARDIAN_SECRETS_FILE`
    names (if set); see `secret_source`."""
    env = secret_source() if environ is None else environ
    if missing_secrets(url, env):
        return None
    return ENV_REF.sub(lambda m: env[m[1]], url)


def missing_secrets(url: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The names of the URL's `{env:NAME}` references that are not set (names only)."""
    env = secret_source() if environ is None else environ
    return [name for name in dict.fromkeys(ENV_REF.findall(url)) if name not in env]


def secret_values(url: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values the URL's references resolve to, to scrub them from error texts."""
    env = secret_source() if environ is None else environ
    return [env[name] for name in dict.fromkeys(ENV_REF.findall(url)) if name in env]


def apprise_problem(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why apprise cannot use `url`, or None when it can (or when a secret it needs is not
    in this environment: that is checked where the service runs, at send time)."""
    resolved = resolve(url, environ)
    if resolved is None:
        return None
    if apprise_module().Apprise.instantiate(resolved, suppress_exceptions=True) is None:
        scheme = resolved.split("://", 1)[0]
        return (f"apprise does not accept this `{scheme}://` URL (unknown service, or a "
                "part missing or malformed); see apprise's page for that service")
    return None


def scrub(text: str | None, secrets: list[str]) -> str | None:
    """Remove secret values from an error text (apprise masks its own logs; an exception's
    message might not)."""
    if text is None:
        return None
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "****")
    return text
