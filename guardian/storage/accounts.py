"""Web sign-in (the tables `accounts`, `invitations`, `web_sessions`, `signin_attempts`):
passwords set through one-time invitations, server-side sessions, and the attempts that
limit guessing. Passwords are kept as argon2id hashes; invitation links and session ids
as SHA-256 (they are 256 random bits: no stretching needed). Every sign-in, sign-out and
password change is audited in its own transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian.storage.audit import audit
from guardian.storage.models import Account, Invitation, SignInAttempt, WebSession

accounts_table = Account.__table__  # type: ignore[attr-defined]
invitations_table = Invitation.__table__  # type: ignore[attr-defined]
sessions_table = WebSession.__table__  # type: ignore[attr-defined]
attempts_table = SignInAttempt.__table__  # type: ignore[attr-defined]

INVITATION_DAYS = 7
# A working day and a bit: a moderator signs in once per shift.
SESSION_HOURS = 12
# Failed attempts in the window that lock an account, or an address (an office behind one
# address has many people, hence the higher number), until the window has passed.
ATTEMPT_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD_CHARS = 10
_KEEP_ATTEMPTS = dt.timedelta(days=1)
# last_seen_at is written at most this often (not on every page view).
_TOUCH_EVERY = dt.timedelta(minutes=1)

# argon2-cffi's defaults are RFC 9106's low-memory recommendation for argon2id.
_HASHER = PasswordHasher()
# Compared against when the account has no password, so that a wrong name takes as long
# as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


# --- invitations ------------------------------------------------------------------------------

async def create_invitation(*, engine: AsyncEngine, staff_id: str, created_by: str,
                            now: dt.datetime, days: int = INVITATION_DAYS) -> str:
    """A new one-time token for `staff_id` to set a password; the token is returned once."""
    token = secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        await conn.execute(insert(invitations_table).values(
            token_hash=digest(token), staff_id=staff_id, created_by=created_by,
            created_at=now, expires_at=now + dt.timedelta(days=days)))
        await audit(conn=conn, actor=created_by, action="account.invite",
                    subject=f"person:{staff_id}", details={"days": days}, at=now)
    return token


async def open_invitation(*, engine: AsyncEngine, token: str, now: dt.datetime
                          ) -> Invitation | None:
    """The invitation a token names, if it is unused and unexpired."""
    c = invitations_table.c
    async with engine.connect() as conn:
        row = (await conn.execute(select(invitations_table).where(
            c.token_hash == digest(token), c.used_at.is_(None), c.expires_at > now))
               ).mappings().first()
    return Invitation.model_validate(dict(row)) if row else None


async def accept_invitation(*, engine: AsyncEngine, token: str, password: str,
                            now: dt.datetime) -> str | None:
    """Set the password of the invitation's person (None: the link is used or expired);
    every open invitation of theirs is used up with it, and their sessions end (a new
    password is often set because the old one leaked)."""
    hashed = await asyncio.to_thread(hash_password, password)
    c = invitations_table.c
    async with engine.begin() as conn:
        used = (await conn.execute(
            update(invitations_table)
            .where(c.token_hash == digest(token), c.used_at.is_(None), c.expires_at > now)
            .values(used_at=now).returning(c.staff_id))).first()
        if used is None:
            return None
        staff_id = str(used[0])
        await conn.execute(update(invitations_table).where(
            c.staff_id == staff_id, c.used_at.is_(None)).values(used_at=now))
        await _upsert_account(conn, staff_id, now, password_hash=hashed, password_set_at=now)
        await _end_sessions(conn, staff_id, now)
        await audit(conn=conn, actor=f"person:{staff_id}", action="account.password_set",
                    subject=f"person:{staff_id}", details={}, at=now)
    return staff_id


# --- accounts -------------------------------------------------------------------------------

async def _upsert_account(conn: AsyncConnection, staff_id: str, now: dt.datetime,
                          **values: object) -> None:
    c = accounts_table.c
    changed = await conn.execute(update(accounts_table).where(c.staff_id == staff_id)
                                 .values(**values))
    if changed.rowcount == 0:
        await conn.execute(insert(accounts_table).values(staff_id=staff_id, created_at=now,
                                                         **values))


async def get_account(*, engine: AsyncEngine, staff_id: str) -> Account | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(accounts_table).where(
            accounts_table.c.staff_id == staff_id))).mappings().first()
    return Account.model_validate(dict(row)) if row else None


async def list_accounts(*, engine: AsyncEngine) -> list[Account]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(accounts_table).order_by(accounts_table.c.staff_id))
                ).mappings().all()
    return [Account.model_validate(dict(r)) for r in rows]


@dataclass(frozen=True)
class SignInState:
    """What an admin sees of a person's way in: their live sessions, when one was last
    used, and until when their newest open invitation works."""

    sessions: int = 0
    last_seen_at: dt.datetime | None = None
    invitation_expires_at: dt.datetime | None = None


async def sign_in_states(*, engine: AsyncEngine, now: dt.datetime) -> dict[str, SignInState]:
    """Per staff id with a live session or an open invitation (others have neither)."""
    s = sessions_table.c
    i = invitations_table.c
    async with engine.connect() as conn:
        sessions = (await conn.execute(
            select(s.staff_id, func.count(), func.max(s.last_seen_at))
            .where(s.revoked_at.is_(None), s.expires_at > now).group_by(s.staff_id))).all()
        invitations = (await conn.execute(
            select(i.staff_id, func.max(i.expires_at))
            .where(i.used_at.is_(None), i.expires_at > now).group_by(i.staff_id))).all()
    found: dict[str, SignInState] = {}
    for staff_id, count, seen in sessions:
        found[str(staff_id)] = SignInState(sessions=int(count), last_seen_at=_utc(seen))
    for staff_id, expires in invitations:
        before = found.get(str(staff_id), SignInState())
        found[str(staff_id)] = SignInState(before.sessions, before.last_seen_at, _utc(expires))
    return found


def _utc(value: object) -> dt.datetime | None:
    """An aggregate's instant (SQLite gives it back naive, or as text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def set_language(*, engine: AsyncEngine, staff_id: str, lang: str,
                       now: dt.datetime) -> None:
    async with engine.begin() as conn:
        await _upsert_account(conn, staff_id, now, lang=lang)


# --- signing in -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SignIn:
    """The outcome of an attempt: a new session id, or why not (`wrong`, `limited`)."""

    session_id: str | None = None
    refused: str | None = None
    retry_after: dt.timedelta | None = None


async def _failures(conn: AsyncConnection, staff_id: str, address: str,
                    now: dt.datetime) -> tuple[int, int, dt.datetime | None]:
    """Failed attempts in the window: for the account, for the address, and the oldest."""
    c = attempts_table.c
    recent = and_(c.at > now - ATTEMPT_WINDOW, c.ok.is_(False))
    row = (await conn.execute(select(
        func.count().filter(c.staff_id == staff_id),
        func.count().filter(c.address == address),
        func.min(c.at)).where(recent, (c.staff_id == staff_id) | (c.address == address))
    )).one()
    return int(row[0]), int(row[1]), row[2]


async def sign_in(*, engine: AsyncEngine, staff_id: str, password: str, address: str,
                  now: dt.datetime, known: bool) -> SignIn:
    """Check a password (`known`: the staff id is in the policy in force) and open a
    session. Too many failures for the account or the address refuse every attempt, right
    or wrong, until the window has passed; each attempt is recorded and audited."""
    async with engine.connect() as conn:
        per_account, per_address, oldest = await _failures(conn, staff_id, address, now)
    if per_account >= MAX_FAILURES_PER_ACCOUNT or per_address >= MAX_FAILURES_PER_ADDRESS:
        wait = (oldest + ATTEMPT_WINDOW - now) if oldest else ATTEMPT_WINDOW
        async with engine.begin() as conn:
            await audit(conn=conn, actor=f"address:{address}", action="session.refused",
                        subject=f"person:{staff_id}", details={"why": "limited"}, at=now)
        return SignIn(refused="limited", retry_after=max(wait, dt.timedelta(minutes=1)))
    account = await get_account(engine=engine, staff_id=staff_id) if known else None
    ok = await asyncio.to_thread(password_matches,
                                 account.password_hash if account else None, password)
    async with engine.begin() as conn:
        # Attempts matter for the window only: older ones are dropped as new ones come.
        await conn.execute(delete(attempts_table).where(
            attempts_table.c.at < now - _KEEP_ATTEMPTS))
        await conn.execute(insert(attempts_table).values(at=now, staff_id=staff_id,
                                                         address=address, ok=ok))
        if not ok:
            await audit(conn=conn, actor=f"address:{address}", action="session.refused",
                        subject=f"person:{staff_id}", details={"why": "wrong"}, at=now)
            return SignIn(refused="wrong")
        session_id = await _open_session(conn, staff_id, address, now)
    return SignIn(session_id=session_id)


async def _open_session(conn: AsyncConnection, staff_id: str, address: str,
                        now: dt.datetime) -> str:
    session_id = secrets.token_urlsafe(32)
    await conn.execute(insert(sessions_table).values(
        id_hash=digest(session_id), staff_id=staff_id, created_at=now, last_seen_at=now,
        expires_at=now + dt.timedelta(hours=SESSION_HOURS), address=address[:64]))
    await audit(conn=conn, actor=f"person:{staff_id}", action="session.signin",
                subject=f"session:{digest(session_id)[:12]}", details={"address": address},
                at=now)
    return session_id


async def open_session(*, engine: AsyncEngine, staff_id: str, address: str,
                       now: dt.datetime) -> str:
    """A session without a password check: right after a password was set."""
    async with engine.begin() as conn:
        return await _open_session(conn, staff_id, address, now)


async def find_session(*, engine: AsyncEngine, session_id: str, now: dt.datetime
                       ) -> WebSession | None:
    """The live session a cookie names (not ended, not expired)."""
    c = sessions_table.c
    async with engine.connect() as conn:
        row = (await conn.execute(select(sessions_table).where(
            c.id_hash == digest(session_id), c.revoked_at.is_(None), c.expires_at > now))
               ).mappings().first()
    if row is None:
        return None
    found = WebSession.model_validate(dict(row))
    if now - found.last_seen_at > _TOUCH_EVERY:
        async with engine.begin() as conn:
            await conn.execute(update(sessions_table).where(c.id_hash == found.id_hash)
                               .values(last_seen_at=now))
    return found


async def end_session(*, engine: AsyncEngine, session_id: str, now: dt.datetime) -> None:
    c = sessions_table.c
    async with engine.begin() as conn:
        ended = (await conn.execute(update(sessions_table).where(
            c.id_hash == digest(session_id), c.revoked_at.is_(None))
            .values(revoked_at=now).returning(c.staff_id))).first()
        if ended is not None:
            await audit(conn=conn, actor=f"person:{ended[0]}", action="session.signout",
                        subject=f"session:{digest(session_id)[:12]}", details={}, at=now)


async def _end_sessions(conn: AsyncConnection, staff_id: str, now: dt.datetime) -> int:
    c = sessions_table.c
    ended = await conn.execute(update(sessions_table).where(
        c.staff_id == staff_id, c.revoked_at.is_(None)).values(revoked_at=now))
    return int(ended.rowcount)


async def end_all_sessions(*, engine: AsyncEngine, staff_id: str, actor: str,
                           now: dt.datetime) -> int:
    """Sign a person out everywhere (every browser); returns how many sessions ended."""
    async with engine.begin() as conn:
        count = await _end_sessions(conn, staff_id, now)
        await audit(conn=conn, actor=actor, action="session.signout_all",
                    subject=f"person:{staff_id}", details={"sessions": count}, at=now)
    return count
