"""Who may call what: each handler declares its roles; undeclared handlers are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from guardian.types import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

PUBLIC = "public"
# A web page for people (guardian.web.ui): its own decorator checks the browser's session
# cookie and the person's role; bearer tokens (machines') never open it.
SESSION = "session"
_ATTRIBUTE = "__guardian_access__"
_WEB_PAGE = "__guardian_web_page__"


def requires(*roles: Role) -> Callable[[H], H]:
    """Allow tokens with any of `roles` (admin is always allowed)."""
    allowed = frozenset({*roles, Role.admin})

    def mark(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, allowed)
        return handler

    return mark


def public(handler: H) -> H:
    setattr(handler, _ATTRIBUTE, PUBLIC)
    return handler


def session(handler: H) -> H:
    """Marks a handler that checks a signed-in session itself (guardian.web.ui.sessions)."""
    setattr(handler, _ATTRIBUTE, SESSION)
    return handler


def web_page(handler: H) -> H:
    """HTML for people, not an API operation: left out of the OpenAPI document."""
    setattr(handler, _WEB_PAGE, True)
    return handler


def is_web_page(handler: object) -> bool:
    return getattr(handler, _WEB_PAGE, False) is True


def access_of(handler: object) -> frozenset[Role] | str | None:
    value = getattr(handler, _ATTRIBUTE, None)
    if value in (PUBLIC, SESSION) or isinstance(value, frozenset):
        return value
    return None
