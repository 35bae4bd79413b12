"""Who is calling: bearer tokens checked against the database, good ones remembered for
a few seconds."""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy.model import Policy
from guardian.storage.tokens import TOKEN_PREFIX, find_token, hash_token
from guardian.types import PERSONAL_ROLES, Role


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


def binding_problem(principal: Principal, policy: Policy | None) -> str | None:
    """Why this token may not act now, or None.

    Staff and moderator tokens are bound to a member of staff (`tokens create --staff`);
    the binding is checked against the policy in force on every request, so a person
    removed from the staff, or from `moderation.moderators`, loses access with the next
    reload rather than when someone remembers to revoke their token. While no policy is
    loaded, the binding checked when the token was created stands.
    """
    if principal.role not in PERSONAL_ROLES:
        return None
    who = principal.staff_id
    if who is None:
        return (f"This {principal.role.value} token names no member of staff; create one "
                f"with `guardian tokens create --role {principal.role.value} --staff ID`.")
    if policy is None:
        return None
    if who not in policy.people:
        return f"The token's member of staff `{who}` is not in the duty policy."
    if principal.role == Role.moderator and who not in policy.moderation.moderators:
        return f"`{who}` is not listed in moderation.moderators, so may not moderate."
    return None


class TokenVerifier:
    """Checks bearer tokens, remembering good ones for `cache_seconds` to spare the database.

    A revoked token therefore stops working within `cache_seconds` of its revocation
    (GUARDIAN_TOKEN_CACHE_SECONDS, 5 s by default), in every process. Failed look-ups are
    never cached, so a new token works at once. When an entry expires, the requests that
    find it so share one look-up: under load, dozens of them would otherwise each ask the
    database at the same moment.
    """

    def __init__(self, engine: AsyncEngine, cache_seconds: float = 5.0) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._pending: dict[str, asyncio.Future[Principal | None]] = {}

    async def verify(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        digest = hash_token(token)
        cached = self._cache.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        pending = self._pending.get(digest)
        if pending is None:
            pending = self._pending[digest] = asyncio.ensure_future(self._look_up(digest))
            pending.add_done_callback(lambda _: self._pending.pop(digest, None))
        # Shielded: a caller that goes away does not cancel the others' answer.
        return await asyncio.shield(pending)

    async def _look_up(self, digest: str) -> Principal | None:
        asked = time.monotonic()  # the bound counts from the question, not the answer
        row = await find_token(engine=self._engine, digest=digest)
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            self._cache.pop(digest, None)
            return None
        principal = Principal(token_id=row.id or 0, name=row.name, role=Role(row.role),
                              staff_id=row.staff_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (asked + self._cache_seconds, principal)
        return principal
