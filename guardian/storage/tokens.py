"""API tokens with roles (the `api_tokens` table). The database keeps only each token's
SHA-256.

Tokens are 256 random bits, so a plain hash is enough (no password stretching needed);
the prefix (`gdn_` plus a few characters) lets people tell tokens apart in `tokens list`.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.audit import audit
from guardian.storage.db import utcnow
from guardian.storage.models import ApiToken
from guardian.types import Role

TOKEN_PREFIX = "gdn_"  # noqa: S105  (a marker, not a secret)
tokens_table = ApiToken.__table__  # type: ignore[attr-defined]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class TokenNameTaken(ValueError):
    """Token names are unique among live tokens: the audit log and `tokens revoke NAME`
    must name one caller."""


async def create_token(*, engine: AsyncEngine, name: str, role: Role,
                       staff_id: str | None = None, actor: str | None = None
                       ) -> tuple[int, str]:
    """Store a new token; return its id and the token itself (shown once, never stored).

    A `staff` token names the member of staff it belongs to (`staff_id`), so that the
    person sees their own duty and can propose and accept swaps. With `actor`, the
    creation is audited (`token.create`, never the token) in the same transaction.
    """
    token = new_token()
    async with engine.begin() as conn:
        taken = (await conn.execute(select(tokens_table.c.id).where(
            tokens_table.c.name == name, tokens_table.c.revoked_at.is_(None)))).first()
        if taken is not None:
            raise TokenNameTaken(f"a live token is already named `{name}` (id {taken[0]}); "
                                 "choose another name, or revoke that one first")
        result = await conn.execute(
            insert(tokens_table).values(
                name=name, role=role.value, token_hash=hash_token(token),
                prefix=token[: len(TOKEN_PREFIX) + 4], created_at=utcnow(), staff_id=staff_id,
            ).returning(tokens_table.c.id)
        )
        token_id = int(result.scalar_one())
        if actor is not None:
            await audit(conn=conn, actor=actor, action="token.create",
                        subject=f"token:{token_id}",
                        details={"name": name, "role": role.value, "staff": staff_id})
    return token_id, token


async def list_tokens(*, engine: AsyncEngine, include_revoked: bool = False) -> list[ApiToken]:
    query = select(tokens_table).order_by(tokens_table.c.id)
    if not include_revoked:
        query = query.where(tokens_table.c.revoked_at.is_(None))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [ApiToken.model_validate(dict(r)) for r in rows]


async def revoke_token(*, engine: AsyncEngine, id_or_name: str,
                       actor: str | None = None) -> int:
    """Revoke by id, or every live token of that name; return how many were revoked. With
    `actor`, each revocation is audited (`token.revoke`) in the same transaction."""
    c = tokens_table.c
    where = c.id == int(id_or_name) if id_or_name.isdigit() else c.name == id_or_name
    async with engine.begin() as conn:
        revoked = (await conn.execute(
            update(tokens_table).where(where, c.revoked_at.is_(None)).values(revoked_at=utcnow())
            .returning(c.id, c.name, c.role))).all()
        if actor is not None:
            for token_id, name, role in revoked:
                await audit(conn=conn, actor=actor, action="token.revoke",
                            subject=f"token:{token_id}", details={"name": name, "role": role})
    return len(revoked)


async def find_token(*, engine: AsyncEngine, digest: str) -> ApiToken | None:
    """The live token whose SHA-256 is `digest`, if any."""
    c = tokens_table.c
    async with engine.connect() as conn:
        row = (await conn.execute(
            select(tokens_table).where(c.token_hash == digest, c.revoked_at.is_(None))
        )).mappings().first()
    return ApiToken.model_validate(dict(row)) if row is not None else None
