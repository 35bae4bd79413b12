"""The `guardian` command: everything an operator scripts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from aiohttp import web

from guardian import __version__
from guardian.auth import create_token, hash_token, list_tokens, revoke_token
from guardian.config import SETTINGS, Settings, load_settings
from guardian.errors import ConfigError
from guardian.pipeline import Worker
from guardian.policy.loader import load_policy
from guardian.storage.db import create_engine, masked_url
from guardian.storage.migrate import current_revision, head_revision, upgrade
from guardian.storage.models import Role

T = TypeVar("T")
DEV_TOKEN_FILE = Path("var/dev-admin.token")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        click.echo("Guardian cannot start; fix these settings:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(2) from None
    for warning in settings.warnings:
        click.echo(f"warning: {warning}", err=True)
    return settings


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Settings come from GUARDIAN_* environment variables; "
                    "see `guardian settings`.")
@click.version_option(__version__, prog_name="guardian")
def main() -> None:
    """Guardian: scores public messages for harassment and routes requests to the staff
    member on duty, on the channel they chose, outside their quiet hours."""


@main.command()
def settings() -> None:
    """List every GUARDIAN_* setting with its default and meaning."""
    for setting in SETTINGS:
        default = setting.default or "(none)"
        click.echo(f"{setting.name}={default}\n    {setting.help}")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default GUARDIAN_HOST, "
              "127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default GUARDIAN_PORT, 8080).")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database before starting.")
@click.option("--no-worker", is_flag=True,
              help="Serve the API only; run the pipeline with `guardian worker` elsewhere.")
def serve(host: str | None, port: int | None, no_migrate: bool, no_worker: bool) -> None:
    """Serve the HTTP API and run the pipeline worker in the same process.

    Migrates the database first unless --no-migrate. Stop with Ctrl-C; messages being
    worked on are handed back and taken up again at the next start.
    """
    from guardian.web.app import init_app

    settings = _settings()
    _logging(settings)
    host = host or settings.host
    port = port or settings.port
    if settings.development:
        _run(lambda: _development_hint(settings, host, port, migrate=not no_migrate))
    app = init_app(settings, migrate=not no_migrate, run_worker=not no_worker)
    web.run_app(app, host=host, port=port, print=None,
                access_log=logging.getLogger("guardian.access"))


def _read_dev_token() -> str:
    return DEV_TOKEN_FILE.read_text().strip() if DEV_TOKEN_FILE.exists() else ""


def _write_dev_token(token: str) -> None:
    DEV_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEV_TOKEN_FILE.touch(mode=0o600)
    DEV_TOKEN_FILE.write_text(token + "\n")


async def _development_hint(settings: Settings, host: str, port: int, *, migrate: bool) -> None:
    """In development, keep an admin token in var/ and say how to send a first message."""
    token = await asyncio.to_thread(_read_dev_token)
    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(engine)
        live = {t.token_hash for t in await list_tokens(engine=engine)}
        if not token or hash_token(token) not in live:
            _, token = await create_token(engine=engine, name="development", role=Role.admin)
            await asyncio.to_thread(_write_dev_token, token)
    finally:
        await engine.dispose()
    base = f"http://{host}:{port}"
    click.echo(
        f"\nGuardian {__version__} (development) on {base}  database: "
        f"{masked_url(settings.database_url)}  policies: {settings.policies_dir}\n"
        f"A development admin token is in {DEV_TOKEN_FILE}. Send a first message:\n\n"
        f"  curl -s -X POST {base}/api/v1/messages \\\n"
        f"    -H \"Authorization: Bearer $(cat {DEV_TOKEN_FILE})\" "
        f"-H 'Content-Type: application/json' \\\n"
        f"    -d '{{\"source\": \"twitter\", \"external_id\": \"1\", "
        f"\"author\": {{\"handle\": \"@vecina\"}}, \"text\": \"La farola de la calle Real "
        f"no funciona\", \"created_at\": \"2026-11-25T22:48:00+01:00\"}}'\n\n"
        f"then read it back: curl -s {base}/api/v1/messages/1 -H \"Authorization: Bearer "
        f"$(cat {DEV_TOKEN_FILE})\"\n", err=True)


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Claim loops in this process (PostgreSQL only; SQLite has one writer).")
def worker(concurrency: int) -> None:
    """Run pipeline workers without the HTTP API.

    On PostgreSQL start as many as you like, on as many machines: they share the queue.
    """
    from guardian.web.app import worker_config

    settings = _settings()
    _logging(settings)

    async def run() -> None:
        engine = create_engine(settings.database_url)
        workers = [Worker(engine, config=worker_config(settings))
                   for _ in range(concurrency)]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop_all, workers)
        try:
            await asyncio.gather(*(w.run() for w in workers))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _stop_all(workers: list[Worker]) -> None:
    for each in workers:
        each.stop()


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest revision (safe to repeat)."""
    settings = _settings()

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(run())
    click.echo(f"{masked_url(settings.database_url)} is at revision {revision}.")


@db.command("current")
def db_current() -> None:
    """Print the database's revision and whether it is the newest; exit 1 if behind."""
    settings = _settings()

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    current, head = asyncio.run(run()), head_revision()
    click.echo(f"current: {current or 'none'}  newest: {head}")
    if current != head:
        raise SystemExit(1)


@main.group()
def tokens() -> None:
    """API tokens: each has a role (ingest, staff, moderator, hr, admin)."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="What the token may do.")
@click.option("--name", required=True, help="Who or what uses it, e.g. `mastodon-feed`.")
def tokens_create(role: str, name: str) -> None:
    """Create a token and print it alone on stdout. It is shown once: store it now."""
    settings = _settings()

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            token_id, token = await create_token(engine=engine, name=name, role=Role(role))
        finally:
            await engine.dispose()
        click.echo(f"created token {token_id} ({role}) for {name}", err=True)
        return token

    click.echo(asyncio.run(run()))


@tokens.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def tokens_list(include_revoked: bool, as_json: bool) -> None:
    """List tokens (never the tokens themselves: only id, name, role, prefix, dates)."""
    settings = _settings()

    async def run() -> list[dict[str, object]]:
        engine = create_engine(settings.database_url)
        try:
            found = await list_tokens(engine=engine, include_revoked=include_revoked)
        finally:
            await engine.dispose()
        return [{"id": t.id, "name": t.name, "role": t.role, "prefix": t.prefix + "…",
                 "created_at": t.created_at.isoformat(),
                 "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
                for t in found]

    rows = asyncio.run(run())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        revoked = f"  revoked {row['revoked_at']}" if row["revoked_at"] else ""
        click.echo(f"{row['id']:>4}  {row['role']:<9}  {row['prefix']:<10}  {row['name']}"
                   f"{revoked}")


@tokens.command("revoke")
@click.argument("id_or_name")
def tokens_revoke(id_or_name: str) -> None:
    """Revoke a token by id, or all live tokens with that name."""
    settings = _settings()

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            return await revoke_token(engine=engine, id_or_name=id_or_name)
        finally:
            await engine.dispose()

    count = asyncio.run(run())
    if count == 0:
        click.echo(f"no live token matches {id_or_name!r}", err=True)
        raise SystemExit(1)
    click.echo(f"revoked {count} token(s)")


@main.group()
def policies() -> None:
    """HR's duty policies in YAML."""


@policies.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def policies_check(directory: Path | None) -> None:
    """Check a policies directory (default GUARDIAN_POLICIES_DIR); exit 1 on errors.

    Prints every problem at once, each with its file and line.
    """
    if directory is None:
        directory = Path(os.environ.get("GUARDIAN_POLICIES_DIR", "policies"))
    result = load_policy(directory)
    for problem in result.problems:
        click.echo(str(problem), err=problem.severity == "error")
    if result.policy is None:
        click.echo(f"{directory}: {len(result.errors)} error(s); the policy was not loaded.",
                   err=True)
        raise SystemExit(1)
    summary = ", ".join(f"{n} {what}" for what, n in result.policy.summary().items())
    click.echo(f"{directory}: valid ({summary}; {len(result.warnings)} warning(s)).")


if __name__ == "__main__":
    main()
