"""Who is calling: bearer tokens checked against the database, good ones remembered for
a few seconds."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.tokens import TOKEN_PREFIX, find_token, hash_token
from guardian.types import Role


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: Role
    staff_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log (and an acknowledgement, a decision) names this caller: the
        person for a token bound to a member of staff (token names may repeat, and a
        person may hold several tokens), else the token's name."""
        return f"{self.role.value}:{self.staff_id or self.name}"


class TokenVerifier:
    """Checks bearer tokens, remembering good ones for `cache_seconds` to spare the database.

    A revoked token therefore stops working within `cache_seconds` (GUARDIAN_TOKEN_CACHE_SECONDS).
    Failed look-ups are never cached, so a new token works at once.
    """

    def __init__(self, engine: AsyncEngine, cache_seconds: float = 5.0) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def verify(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        digest = hash_token(token)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached and cached[0] > now:
            return cached[1]
        row = await find_token(engine=self._engine, digest=digest)
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            self._cache.pop(digest, None)
            return None
        principal = Principal(token_id=row.id or 0, name=row.name, role=Role(row.role),
                              staff_id=row.staff_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._cache_seconds, principal)
        return principal
