"""`guardian labels export`: moderators' decisions and staff's flags as labelled data that
`guardian eval` reads, to measure the scorer on the town's own messages."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import instant, settings_or_exit, with_database
from guardian.review.labels import ABUSIVE, Labelled, labelled_messages

COLUMNS = ("id", "text", "lang", "label", "source", "level", "decided_at")
EVAL_HINT = ("guardian eval --data {path} --text-column text --label-column label "
             "--positive abusive --delimiter tab")
PRIVATE = ("note: the file holds the messages' raw text, abusive ones included, and who "
           "was targeted can often be read in it: it is for the town's own evaluation of "
           "the scorer. Keep it private (it is written readable by you only) and delete it "
           "when you are done; do not share it or add it to a repository.")


def _field(value: object) -> str:
    """A TSV field: read without quoting (`guardian eval`), so tabs and line breaks in a
    text become spaces."""
    text = "" if value is None else str(value)
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def rows(labelled: list[Labelled]) -> Iterator[str]:
    yield "\t".join(COLUMNS) + "\n"
    for item in labelled:
        yield "\t".join(_field(v) for v in (
            item.message_id, item.text, item.lang, item.label, item.source, item.level,
            item.decided_at.isoformat())) + "\n"


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[TextIO]:
    """`path` opened for writing, readable and writable by its owner only (0600), also
    when it existed before with a wider mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        yield handle


@click.group()
def labels() -> None:
    """Labelled data from moderators' decisions and staff's flags."""


@labels.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the TSV here (mode 0600); default: standard output.")
@click.option("--since", default=None,
              help="Only decisions made at or after this ISO 8601 instant (with a zone).")
def export(out: Path | None, since: str | None) -> None:
    """Write every message a moderator decided as a TSV with the columns id, text (raw),
    lang, label (`abusive`: confirmed, muted or blocked; `not_abusive`: dismissed), source
    (`flag` or `moderation`), level (the scorer's) and decided_at. Flags not decided yet
    and escalations are left out. `guardian eval` reads it:

    guardian eval --data FILE --text-column text --label-column label --positive abusive
    --delimiter tab
    """
    after = instant(since, "--since") if since is not None else None
    settings = settings_or_exit()

    async def read(engine: AsyncEngine) -> list[Labelled]:
        async with engine.connect() as conn:
            return await labelled_messages(conn=conn, since=after)

    found = with_database(settings, read)
    click.echo(PRIVATE, err=True)
    if out is None:
        click.echo("".join(rows(found)), nl=False)
    else:
        with _private_file(out) as handle:
            handle.writelines(rows(found))
    abusive = sum(1 for item in found if item.label == ABUSIVE)
    where = str(out) if out is not None else "standard output"
    click.echo(f"{len(found)} labelled messages ({abusive} abusive, {len(found) - abusive} not "
               f"abusive) written to {where}.", err=True)
    if out is not None and found:
        click.echo("Measure the scorer on them: " + EVAL_HINT.format(path=out), err=True)
