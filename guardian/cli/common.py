"""What every command shares: its settings, logging, the database it opens and disposes,
the policy it loads, and how it reads an instant."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings, load_settings
from guardian.errors import ConfigError
from guardian.policy.model import Policy
from guardian.policy_files.loader import load_policy
from guardian.scoring.select import ScorerStatus
from guardian.storage.db import create_engine

T = TypeVar("T")


def settings_or_exit(*, require_secret: bool = False) -> Settings:
    """The settings for a command; every problem listed and exit 2 when they are wrong.
    Only the service itself (serve, worker) needs the secret."""
    try:
        settings = load_settings(require_secret=require_secret)
    except ConfigError as exc:
        click.echo("Guardian cannot start; fix these settings:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(2) from None
    for warning in settings.warnings:
        click.echo(f"warning: {warning}", err=True)
    return settings


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The database of the settings, disposed of when the command is done with it."""
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def with_database(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` on the settings' database, from a command (no event loop running yet)."""
    async def run() -> T:
        async with database(settings) as engine:
            return await work(engine)

    return asyncio.run(run())


def policy_or_exit(directory: Path, *, code: int = 1, hint: str | None = None) -> Policy:
    """The policy in `directory`; its problems printed and exit `code` when it has errors."""
    loaded = load_policy(directory)
    if loaded.policy is None:
        for problem in loaded.errors:
            click.echo(str(problem), err=True)
        if hint:
            click.echo(hint, err=True)
        raise SystemExit(code)
    return loaded.policy


def warn_scorer(status: ScorerStatus) -> None:
    if status.warning:
        click.echo(f"warning: {status.warning}", err=True)
    elif status.limitations:
        click.echo(f"note: {status.limitations}", err=True)


def instant(value: str | None, option: str) -> dt.datetime:
    """An ISO 8601 instant with a time zone; now when `value` is None."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601, e.g. 2026-11-25T22:48+01:00",
                                 param_hint=option) from None
    if parsed.tzinfo is None:
        raise click.BadParameter("needs a time zone, e.g. 2026-11-25T22:48+01:00 or ...Z",
                                 param_hint=option)
    return parsed
