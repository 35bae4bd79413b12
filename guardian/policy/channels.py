"""Channel URLs checked by apprise itself, with `{env:NAME}` secrets filled in."""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections.abc import Mapping
from typing import Any

ENV_REF = re.compile(r"\{env:([A-Z_][A-Z0-9_]*)\}")


@functools.cache
def apprise_module() -> Any:
    # apprise's plugins import `imghdr` (deprecated since Python 3.11) when first used:
    # import it once here, quietly, so that later imports find it loaded.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import imghdr  # noqa: F401

        import apprise
    return apprise


def redact(url: str) -> str:
    """Never echo a password back into logs or the health page."""
    url = re.sub(r"(://[^/?#@]*?:)[^/?#@]*@", r"\1***@", url)
    return re.sub(r"([?&](?:pass|password)=)[^&#]*", r"\1***", url, flags=re.IGNORECASE)


def resolve(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The URL with its `{env:NAME}` references filled in; None if one is not set."""
    env = os.environ if environ is None else environ
    missing = [name for name in ENV_REF.findall(url) if name not in env]
    if missing:
        return None
    return ENV_REF.sub(lambda m: env[m[1]], url)


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
