"""Cross-site request forgery: every form carries a token that only Guardian could have
put there. Signed in, the token is bound to the session (an HMAC of its id under the
service's secret); before signing in (the sign-in and invitation forms), to a random
cookie of its own (double submit, signed the same way). A POST without the right token is
refused with 403 before anything changes."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def token_for(secret: str, bound_to: str, purpose: str) -> str:
    """The token of a session (`purpose` "session") or of a pre-session cookie ("pre")."""
    return hmac.new(secret.encode(), f"{purpose}:{bound_to}".encode(),
                    hashlib.sha256).hexdigest()


async def sent_token(request: web.Request) -> str:
    """The token a POST carries: the form field, or htmx's header."""
    header = request.headers.get(HEADER)
    if header:
        return header
    form = await request.post()
    value = form.get(FIELD)
    return value if isinstance(value, str) else ""


async def is_valid(request: web.Request, expected: str) -> bool:
    return hmac.compare_digest((await sent_token(request)).encode(), expected.encode())
