"""`guardian privacy export|erase --author SOURCE:HANDLE`: a citizen's right of access and
to erasure (GDPR arts. 15 and 17), for the town's data-protection officer."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import settings_or_exit, with_database
from guardian.engine.privacy import AuthorError, erase_author, export_author, parse_author
from guardian.storage.db import utcnow


@click.group()
def privacy() -> None:
    """Citizens' data: access (export) and erasure."""


def _author(raw: str) -> tuple[str, str]:
    try:
        return parse_author(raw)
    except AuthorError as exc:
        raise click.BadParameter(str(exc), param_hint="--author") from None


@privacy.command("export")
@click.option("--author", "author", required=True, help="SOURCE:HANDLE, e.g. twitter:@vecina")
def export(author: str) -> None:
    """Everything kept about an author, as JSON on standard output."""
    source, handle = _author(author)
    settings = settings_or_exit()

    async def run(engine: AsyncEngine) -> dict[str, Any]:
        async with engine.connect() as conn:
            return await export_author(conn=conn, source=source, handle=handle)

    click.echo(json.dumps(with_database(settings, run), ensure_ascii=False, indent=2))


@privacy.command("erase")
@click.option("--author", "author", required=True, help="SOURCE:HANDLE, e.g. twitter:@vecina")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(author: str, yes: bool) -> None:
    """Erase an author's messages and their traces (texts, scores, notifications' bodies,
    sanctions); an audit record says what was erased, not of whom."""
    source, handle = _author(author)
    if not yes:
        click.confirm(f"Erase everything kept about {source}:{handle}? This cannot be undone",
                      abort=True)
    settings = settings_or_exit()

    async def run(engine: AsyncEngine) -> dict[str, int]:
        async with engine.begin() as conn:
            return await erase_author(conn=conn, source=source, handle=handle,
                                      actor="cli", now=utcnow())

    counts = with_database(settings, run)
    click.echo(f"erased: {counts['messages']} message(s), {counts['notifications']} "
               f"notification(s), {counts['sanctions']} sanction record(s).")
