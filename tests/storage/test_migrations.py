"""Migrations and models on both databases; timestamps are aware UTC everywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from guardian.storage.db import create_engine
from guardian.storage.messages import messages_table
from guardian.storage.migrate import current_revision, head_revision, upgrade
from tests.conftest import new_postgres_database, remove_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_engine(request: pytest.FixtureRequest, tmp_path: Path
                       ) -> AsyncIterator[AsyncEngine]:
    """A database with nothing in it, not even the migrations table."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'empty.db'}")
        yield engine
        await engine.dispose()
        return
    url = await new_postgres_database()
    engine = create_engine(url)
    yield engine
    await engine.dispose()
    await remove_postgres_database(url)


async def test_upgrade_from_nothing_reaches_head_and_is_repeatable(
        empty_engine: AsyncEngine) -> None:
    assert await current_revision(empty_engine) is None
    await upgrade(empty_engine)
    assert await current_revision(empty_engine) == head_revision()
    await upgrade(empty_engine)
    assert await current_revision(empty_engine) == head_revision()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_models_and_migrations_describe_the_same_schema(
        empty_engine: AsyncEngine) -> None:
    await upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        differences = await conn.run_sync(_differences)
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert differences == []
    assert {"messages", "stage_events", "api_tokens", "alembic_version"} <= tables


async def test_timestamps_come_back_aware_in_utc(empty_engine: AsyncEngine) -> None:
    await upgrade(empty_engine)
    madrid = dt.timezone(dt.timedelta(hours=1))
    created = dt.datetime(2026, 3, 29, 1, 59, 30, tzinfo=madrid)
    async with empty_engine.begin() as conn:
        await conn.execute(messages_table.insert().values(
            source="t", external_id="1", author_handle="@a", text="x", mentions=[],
            created_at=created, received_at=created, available_at=created, stage="received",
            attempts=0, stage_times={}))
    async with empty_engine.connect() as conn:
        value = (await conn.execute(select(messages_table.c.created_at))).scalar_one()
    assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0)
    assert value == created


async def test_naive_datetimes_are_refused(empty_engine: AsyncEngine) -> None:
    await upgrade(empty_engine)
    naive = dt.datetime(2026, 1, 1, 12, 0)
    with pytest.raises(Exception, match="naive datetime"):
        async with empty_engine.begin() as conn:
            await conn.execute(messages_table.insert().values(
                source="t", external_id="1", author_handle="@a", text="x", mentions=[],
                created_at=naive, received_at=naive, available_at=naive, stage="received",
                attempts=0, stage_times={}))
