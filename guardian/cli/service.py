"""`guardian serve` and `guardian worker`: the service itself."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from pathlib import Path

import click
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian import __version__
from guardian.cli.common import database, settings_or_exit, setup_logging
from guardian.cli.people import invitation_link
from guardian.config.settings import Settings
from guardian.errors import ScorerUnavailable
from guardian.notify.inbox import Inbox
from guardian.policy.urls import redact
from guardian.policy_files.loader import load_policy
from guardian.storage.accounts import create_invitation, get_account
from guardian.storage.db import masked_url, utcnow
from guardian.storage.migrate import upgrade
from guardian.storage.tokens import create_token, hash_token, list_tokens
from guardian.types import Role

DEV_TOKEN_FILE = Path("var/dev-admin.token")


@click.command()
@click.option("--host", default=None, help="Address to listen on (default GUARDIAN_HOST, "
              "127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default GUARDIAN_PORT, 8080).")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database before starting.")
@click.option("--no-worker", is_flag=True,
              help="Serve the API only; run the pipeline with `guardian worker` elsewhere.")
@click.option("--inbox", "inbox_port", type=click.IntRange(1, 65535), default=None,
              help="Development: print every notification from a local inbox on this port "
                   "instead of sending it to people's channels.")
def serve(host: str | None, port: int | None, no_migrate: bool, no_worker: bool,
          inbox_port: int | None) -> None:
    """Serve the HTTP API and run the engine (pipeline, timers, notifier) in the same
    process.

    Migrates the database first unless --no-migrate. Stop with Ctrl-C; messages being
    worked on are handed back and taken up again at the next start.
    """
    from guardian.engine.startup import freeze_startup_objects
    from guardian.web.access_log import access_logger
    from guardian.web.app import init_app

    settings = settings_or_exit(require_secret=True)
    setup_logging(settings)
    host = host or settings.host
    port = port or settings.port
    # Links in notifications point where the service listens (unless GUARDIAN_PUBLIC_URL).
    settings = dataclasses.replace(settings, host=host, port=port)
    inbox = None
    if inbox_port is not None:
        if not settings.development:
            click.echo("--inbox is for development (GUARDIAN_ENV=development): in production "
                       "notifications go to people's channels.", err=True)
            raise SystemExit(2)
        inbox = Inbox(inbox_port, show=lambda text: click.echo(text, err=True))
        if not settings.deliver_to:
            settings = dataclasses.replace(settings, deliver_to=inbox.url)
    if settings.development:
        asyncio.run(_development_hint(settings, host, port, migrate=not no_migrate))
    app = init_app(settings, migrate=not no_migrate, run_worker=not no_worker,
                   handle_signals=True)
    if inbox is not None:
        app.cleanup_ctx.insert(0, inbox.context)

    async def freeze(app: web.Application) -> None:
        freeze_startup_objects()

    app.on_startup.append(freeze)   # runs once the cleanup contexts have started
    try:
        web.run_app(app, host=host, port=port, print=None,
                    access_log=access_logger())
    except ScorerUnavailable as exc:
        click.echo(f"Guardian cannot start: {exc}", err=True)
        raise SystemExit(2) from None


def _read_dev_token() -> str:
    return DEV_TOKEN_FILE.read_text().strip() if DEV_TOKEN_FILE.exists() else ""


def _write_dev_token(token: str) -> None:
    DEV_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEV_TOKEN_FILE.touch(mode=0o600)
    DEV_TOKEN_FILE.write_text(token + "\n")


async def _moderator_sign_in_hint(settings: Settings, engine: AsyncEngine, base: str) -> str:
    """The way into the review queue for the policy's first moderator: an invitation link
    while they have no password (a new one each start, valid a day), then the sign-in
    page."""
    loaded = await asyncio.to_thread(load_policy, settings.policies_dir)
    if loaded.policy is None or not loaded.policy.moderation.moderators:
        return ""
    first = loaded.policy.moderation.moderators[0]
    account = await get_account(engine=engine, staff_id=first)
    if account is not None and account.password_hash is not None:
        return f"The review queue: sign in at {base}/signin as `{first}`.\n"
    token = await create_invitation(engine=engine, staff_id=first,
                                    created_by="cli:serve-development", now=utcnow(), days=1)
    return (f"The review queue: open {invitation_link(base, token)} to set a password for "
            f"`{first}` (the first moderator of the policy), then you are on the queue "
            f"page. Others: `guardian people invite STAFF_ID`.\n")


async def _development_hint(settings: Settings, host: str, port: int, *, migrate: bool) -> None:
    """In development, keep an admin token in var/ and say how to send a first message."""
    token = await asyncio.to_thread(_read_dev_token)
    async with database(settings) as engine:
        if migrate:
            await upgrade(engine)
        live = {t.token_hash for t in await list_tokens(engine=engine)}
        if not token or hash_token(token) not in live:
            _, token = await create_token(engine=engine, name="development", role=Role.admin)
            await asyncio.to_thread(_write_dev_token, token)
        moderator_hint = await _moderator_sign_in_hint(settings, engine, f"http://{host}:{port}")
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
    if moderator_hint:
        click.echo(moderator_hint, err=True)
    if settings.deliver_to:
        click.echo(
            f"Notifications go to {redact(settings.deliver_to)}, not to people's channels. "
            f"A lamp reported at night waits for the morning digest; an emergency pages "
            f"the electrician on call at once:\n\n"
            f"  curl -s -X POST {base}/api/v1/messages \\\n"
            f"    -H \"Authorization: Bearer $(cat {DEV_TOKEN_FILE})\" "
            f"-H 'Content-Type: application/json' \\\n"
            f"    -d '{{\"source\": \"twitter\", \"external_id\": \"2\", "
            f"\"author\": {{\"handle\": \"@vecina\"}}, \"text\": \"Hay un cable caído en la "
            f"calle Mayor, saltan chispas\", \"created_at\": \"2026-11-25T03:00:00+01:00\"}}'\n",
            err=True)


@click.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Claim loops in this process (PostgreSQL only; SQLite has one writer).")
def worker(concurrency: int) -> None:
    """Run the engine (pipeline, timers, notifier) without the HTTP API.

    On PostgreSQL start as many as you like, on as many machines: they share the queue.
    """
    from guardian.engine.build import build
    from guardian.engine.scoring_stage import ScoringState
    from guardian.engine.startup import freeze_startup_objects
    from guardian.policy_files.store import PolicyStore

    settings = settings_or_exit(require_secret=True)
    setup_logging(settings)

    async def run() -> None:
        async with database(settings) as engine:
            store = PolicyStore(settings.policies_dir)
            # The scorer's warning is in the log already (`load_model`): said once.
            scoring = await ScoringState.start(settings, store.policy)
            store.on_change(scoring.use_policy)
            jobs = build(engine, settings, lambda: store.policy, scoring,
                         concurrency=concurrency)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, jobs.stop)
            freeze_startup_objects()
            try:
                await jobs.run()
            finally:
                scoring.close()

    asyncio.run(run())
