"""Who may call what: each handler declares its roles; undeclared handlers are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from guardian.types import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

PUBLIC = "public"
_ATTRIBUTE = "__guardian_access__"


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


def access_of(handler: object) -> frozenset[Role] | str | None:
    value = getattr(handler, _ATTRIBUTE, None)
    if value == PUBLIC or isinstance(value, frozenset):
        return value
    return None
