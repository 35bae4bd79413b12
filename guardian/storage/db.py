"""Database engines for SQLite (embedded default) and PostgreSQL (production, scale-out).

Users write plain URLs (`sqlite:///var/guardian.db`, `postgresql://u@h/db`); the async
drivers (aiosqlite, asyncpg) are chosen here so the rest of the code never spells them.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator


def async_url(url: str) -> URL:
    """The SQLAlchemy URL with the async driver for `url`."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def dialect_name(url: str) -> str:
    return "postgresql" if async_url(url).get_backend_name() == "postgresql" else "sqlite"


def masked_url(url: str) -> str:
    """The URL without its password, for logs."""
    return async_url(url).render_as_string(hide_password=True)


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An async engine for `url`, with the driver and settings its database needs."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        database = target.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer, and connections queueing here in order beat
        # connections racing for its file lock (p99 fell from 200 ms to 30 ms under load).
        engine = create_async_engine(target, connect_args={"timeout": 30}, pool_size=1,
                                     max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping (it costs a round trip per checkout); a dropped connection fails one
    # request and is replaced, and connections are renewed every half hour.
    return create_async_engine(target, pool_size=pool_size, max_overflow=pool_size,
                               pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (API, health) run while the single writer commits; foreign keys are
    # off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on both databases (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; attach a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def worker_name() -> str:
    """How this process signs the leases it takes (messages, notifications): host and pid."""
    return f"{socket.gethostname()[:24]}:{os.getpid()}"
