"""`guardian messages retry`: put parked messages (failed after their attempts) back in
the queue, once their cause is fixed; audited."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import settings_or_exit, with_database
from guardian.storage.audit import audit
from guardian.storage.db import utcnow
from guardian.storage.messages import retry_parked


@click.group()
def messages() -> None:
    """Messages in the pipeline."""


def _ids(raw: str | None) -> list[int] | None:
    if raw is None:
        return None
    try:
        found = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter("a comma-separated list of message ids, e.g. 12,13",
                                 param_hint="--ids") from None
    if not found or any(i < 1 for i in found):
        raise click.BadParameter("at least one message id, each 1 or more",
                                 param_hint="--ids")
    return found


@messages.command("retry")
@click.option("--failed", "every", is_flag=True, help="Every parked message.")
@click.option("--ids", default=None, help="These parked messages only (12,13).")
def retry(every: bool, ids: str | None) -> None:
    """Re-drive parked messages: back in the queue at once, attempts counted afresh."""
    wanted = _ids(ids)
    if every == (wanted is not None):
        raise click.UsageError("give --failed (every parked message) or --ids, one of them.")
    settings = settings_or_exit()

    async def run(engine: AsyncEngine) -> list[int]:
        async with engine.begin() as conn:
            done = await retry_parked(conn=conn, now=utcnow(), ids=wanted)
            await audit(conn=conn, actor="cli", action="messages.retry", subject="messages",
                        details={"ids": done})
        return done

    done = with_database(settings, run)
    click.echo(f"{len(done)} message(s) back in the queue"
               + (f": {', '.join(map(str, done))}" if done else "") + ".")
