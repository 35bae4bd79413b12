"""`guardian db`: the database schema."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import settings_or_exit, with_database
from guardian.storage.db import masked_url
from guardian.storage.migrate import current_revision, head_revision, upgrade


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest revision (safe to repeat)."""
    settings = settings_or_exit()

    async def migrate(engine: AsyncEngine) -> str | None:
        await upgrade(engine)
        return await current_revision(engine)

    revision = with_database(settings, migrate)
    click.echo(f"{masked_url(settings.database_url)} is at revision {revision}.")


@db.command("current")
def db_current() -> None:
    """Print the database's revision and whether it is the newest; exit 1 if behind."""
    settings = settings_or_exit()
    current, head = with_database(settings, current_revision), head_revision()
    click.echo(f"current: {current or 'none'}  newest: {head}")
    if current != head:
        raise SystemExit(1)
