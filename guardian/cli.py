"""The `guardian` command: everything an operator scripts."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

import click
from aiohttp import web

from guardian import __version__
from guardian.config.settings import DETOXIFY_VARIANTS, SETTINGS, Settings, load_settings
from guardian.engine.startup import freeze_startup_objects
from guardian.errors import ConfigError, ScorerUnavailable
from guardian.notify.inbox import Inbox
from guardian.policy.urls import redact
from guardian.policy_files.loader import load_policy
from guardian.scoring.select import ScorerStatus, load_model
from guardian.storage.db import create_engine, masked_url
from guardian.storage.migrate import current_revision, head_revision, upgrade
from guardian.storage.tokens import create_token, hash_token, list_tokens, revoke_token
from guardian.types import Role

if TYPE_CHECKING:
    from guardian.policy.model import Policy
    from guardian.schedule import Override
    from guardian.scoring.assessor import Assessor
    from guardian.storage.models import Message

T = TypeVar("T")
DEV_TOKEN_FILE = Path("var/dev-admin.token")


def _settings(*, require_secret: bool = False) -> Settings:
    """Settings for a command; only the service itself (serve, worker) needs the secret."""
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
@click.option("--inbox", "inbox_port", type=click.IntRange(1, 65535), default=None,
              help="Development: print every notification from a local inbox on this port "
                   "instead of sending it to people's channels.")
def serve(host: str | None, port: int | None, no_migrate: bool, no_worker: bool,
          inbox_port: int | None) -> None:
    """Serve the HTTP API and run the pipeline worker in the same process.

    Migrates the database first unless --no-migrate. Stop with Ctrl-C; messages being
    worked on are handed back and taken up again at the next start.
    """
    from guardian.web.app import init_app

    settings = _settings(require_secret=True)
    _logging(settings)
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
        _run(lambda: _development_hint(settings, host, port, migrate=not no_migrate))
    app = init_app(settings, migrate=not no_migrate, run_worker=not no_worker,
                   handle_signals=True)
    if inbox is not None:
        app.cleanup_ctx.insert(0, inbox.context)
    app.on_startup.append(_freeze)   # runs once the cleanup contexts have started
    try:
        web.run_app(app, host=host, port=port, print=None,
                    access_log=logging.getLogger("guardian.access"))
    except ScorerUnavailable as exc:
        click.echo(f"Guardian cannot start: {exc}", err=True)
        raise SystemExit(2) from None


async def _freeze(app: web.Application) -> None:
    freeze_startup_objects()


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


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Claim loops in this process (PostgreSQL only; SQLite has one writer).")
def worker(concurrency: int) -> None:
    """Run pipeline workers without the HTTP API.

    On PostgreSQL start as many as you like, on as many machines: they share the queue.
    """
    from guardian.engine.build import build
    from guardian.engine.scoring_stage import ScoringState
    from guardian.policy_files.store import PolicyStore

    settings = _settings(require_secret=True)
    _logging(settings)

    async def run() -> None:
        engine = create_engine(settings.database_url)
        store = PolicyStore(settings.policies_dir)
        scoring = await ScoringState.start(settings, store.policy)
        _warn_scorer(scoring.status)
        store.on_change(scoring.use_policy)
        background = build(engine, settings, lambda: store.policy, scoring,
                           concurrency=concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, background.stop)
        freeze_startup_objects()
        try:
            await background.run()
        finally:
            scoring.close()
            await engine.dispose()

    asyncio.run(run())


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
@click.option("--staff", "staff_id", default=None,
              help="For a staff token: the person's id in the policies (required).")
def tokens_create(role: str, name: str, staff_id: str | None) -> None:
    """Create a token and print it alone on stdout. It is shown once: store it now."""
    settings = _settings()
    if (role == Role.staff.value) != (staff_id is not None):
        click.echo("error: a staff token needs --staff ID (the person's id in the policies), "
                   "and only a staff token takes one.", err=True)
        raise SystemExit(2)
    if staff_id is not None:
        loaded = load_policy(settings.policies_dir)
        if loaded.policy is not None and staff_id not in loaded.policy.staff_by_id():
            click.echo(f"error: no staff member `{staff_id}` in {settings.policies_dir}.",
                       err=True)
            raise SystemExit(2)

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            token_id, token = await create_token(engine=engine, name=name, role=Role(role),
                                                 staff_id=staff_id)
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


def _assessor(settings: Settings, scorer: str | None) -> tuple[Assessor, ScorerStatus]:
    """The scorer the service would use, with the policy's harassment rules."""
    from guardian.scoring.assessor import assessor_for

    try:
        model, status = load_model(settings, scorer)
    except ScorerUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    loaded = load_policy(settings.policies_dir)
    return assessor_for(model, loaded.policy, status.attributor), status


def _warn_scorer(status: ScorerStatus) -> None:
    if status.warning:
        click.echo(f"warning: {status.warning}", err=True)
    elif status.limitations:
        click.echo(f"note: {status.limitations}", err=True)


@main.command()
@click.option("--scorer", type=click.Choice(["auto", "lite", "detoxify"]), default=None,
              help="Override GUARDIAN_SCORER.")
@click.option("--lang", default=None, help="Language hint (otherwise detected).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per text.")
@click.argument("texts", nargs=-1, required=True)
def score(scorer: str | None, lang: str | None, as_json: bool, texts: tuple[str, ...]) -> None:
    """Score TEXTS for harassment: labels, level, masked text and reasons."""
    settings = _settings()
    assessor, status = _assessor(settings, scorer)
    _warn_scorer(status)
    for text, result in zip(texts, assessor.assess(list(texts), [lang] * len(texts)),
                            strict=True):
        if as_json:
            click.echo(json.dumps({"text": text, **result.as_json(),
                                   "masked_text": result.masked_text}, ensure_ascii=False))
            continue
        labels = "  ".join(f"{k}={v:.2f}" for k, v in result.labels.items())
        click.echo(f"level: {result.level}   language: {result.lang or 'unknown'}"
                   f"{'' if result.covered else ' (not covered)'}   scorer: "
                   f"{result.scorer.name} {result.scorer.variant}\n  {labels}\n"
                   f"  masked: {result.masked_text}")
        for reason in result.reasons:
            click.echo(f"  - {reason}")


@main.command("eval")
@click.option("--data", "data_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A labelled CSV or TSV file.")
@click.option("--text-column", required=True, help="Column holding the text.")
@click.option("--label-column", required=True, help="Column holding the label.")
@click.option("--positive", required=True,
              help="Label value(s) that mean abusive, comma-separated (e.g. 0,1 or OFP,OFG).")
@click.option("--delimiter", default=",", show_default=True,
              help="Field separator; `\\t` (or `tab`) for TSV.")
@click.option("--scorer", type=click.Choice(["auto", "lite", "detoxify"]), default=None)
@click.option("--obfuscate", is_flag=True,
              help="Obfuscate every text first (seeded) to measure robustness.")
@click.option("--seed", type=int, default=0, show_default=True, help="Obfuscation seed.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N rows.")
def eval_command(data_path: Path, text_column: str, label_column: str, positive: str,
                 delimiter: str, scorer: str | None, obfuscate: bool, seed: int,
                 limit: int | None) -> None:
    """Measure the scorer on labelled data; print ROC-AUC, precision, recall, F1 and
    texts/s as JSON."""
    from guardian.scoring.evaluate import DataError, evaluate, read_labelled

    settings = _settings()
    separator = "\t" if delimiter in ("\\t", "tab", "\t") else delimiter
    try:
        data = read_labelled(data_path, text_column=text_column, label_column=label_column,
                             positive=positive.split(","), delimiter=separator, limit=limit)
    except DataError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    assessor, status = _assessor(settings, scorer)
    _warn_scorer(status)
    report = evaluate(assessor, data, obfuscate_seed=seed if obfuscate else None)
    click.echo(json.dumps({"data": str(data_path), **report}, indent=2))


@main.command("train-lite")
@click.option("--lang", type=click.Choice(["es"]), required=True,
              help="Language of the model (Spanish: trained on OffendES).")
@click.option("--data", "data_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="OffendES-style TSV: columns comment and label (OFP/OFG offensive).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Cross-validation folds reported before the final fit.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the weights (.npz); a .json report goes beside it.")
def train_lite_command(lang: str, data_path: Path, seed: int, folds: int, out: Path) -> None:
    """Train the lite scorer's model for LANG, deterministically; print the CV report."""
    from guardian.scoring.linear import save_trained, train_lite

    if out.suffix != ".npz":
        click.echo("error: --out must name a .npz file.", err=True)
        raise SystemExit(2)
    model, report = train_lite(lang=lang, data=data_path, seed=seed, folds=folds)
    out.parent.mkdir(parents=True, exist_ok=True)
    report_path = save_trained(model, report, out)
    click.echo(report_path.read_text(encoding="utf-8"), nl=False)


@main.group()
def models() -> None:
    """Detoxify model weights."""


@models.command("pull")
@click.argument("variant", type=click.Choice(list(DETOXIFY_VARIANTS)))
def models_pull(variant: str) -> None:
    """Download VARIANT's weights into GUARDIAN_MODELS_DIR, with a progress bar."""
    import guardian.scoring.detox as detox

    settings = _settings()
    try:
        path = detox.pull(variant, settings.models_dir, progress=True)
    except detox.ModelUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{variant} is ready in {path}; `guardian score` and the service use it now.")


def _instant(value: str | None, option: str) -> dt.datetime:
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


def _duty_context(start: dt.datetime, end: dt.datetime) -> tuple[Policy, list[Override]]:
    """The policy and the overrides stored in the database, for CLI look-ups."""
    from guardian.storage.overrides import active_overrides

    settings = _settings()
    loaded = load_policy(settings.policies_dir)
    if loaded.policy is None:
        for problem in loaded.errors:
            click.echo(str(problem), err=True)
        raise SystemExit(1)

    async def read() -> list[Override]:
        engine = create_engine(settings.database_url)
        try:
            return await active_overrides(engine, start=start, end=end)
        except Exception as exc:
            raise click.ClickException(
                f"cannot read overrides from the database ({type(exc).__name__}); is it "
                "migrated (`guardian db upgrade`)?") from None
        finally:
            await engine.dispose()

    return loaded.policy, asyncio.run(read())


def _names(people: list[dict[str, str]]) -> str:
    return ", ".join(p["name"] for p in people) or "NO ONE"


@main.command()
@click.option("--team", default=None, help="Only this team (default: every team).")
@click.option("--at", "at_text", default=None, help="ISO 8601 instant (default: now).")
@click.option("--json", "as_json", is_flag=True, help="JSON, one object per team.")
def oncall(team: str | None, at_text: str | None, as_json: bool) -> None:
    """Who is on duty and who is on call, per team, and why (rotation, working hours,
    override). A period with no one says so."""
    from guardian.schedule.views import who_is_on

    at = _instant(at_text, "--at")
    policy, overrides = _duty_context(at, at + dt.timedelta(seconds=1))
    if team is not None and team not in policy.team_index:
        raise click.BadParameter(f"no team `{team}` in the policy", param_hint="--team")
    teams = [team] if team else [t.id for t in policy.teams]
    found = [who_is_on(policy, t, at, overrides) for t in teams]
    if as_json:
        click.echo(json.dumps({"teams": found}, indent=2, ensure_ascii=False))
        return
    for item in found:
        gap = "   <- no one at all" if item["gap"] else ""
        click.echo(f"{item['team']}: on duty {_names(item['on_duty'])} "
                   f"[{', '.join(item['on_duty_sources'])}]; on call "
                   f"{_names(item['on_call'])} [{', '.join(item['on_call_sources'])}]{gap}")


@main.command()
@click.option("--team", required=True, help="Team id.")
@click.option("--from", "start_text", required=True, help="ISO 8601 instant.")
@click.option("--to", "end_text", required=True, help="ISO 8601 instant.")
@click.option("--role", type=click.Choice(["duty", "on_call"]), default="duty",
              show_default=True)
@click.option("--json", "as_json", is_flag=True)
def shifts(team: str, start_text: str, end_text: str, role: str, as_json: bool) -> None:
    """A team's shifts between two instants: who, from when to when, and why."""
    from guardian.schedule import team_shifts
    from guardian.schedule.views import shift_json

    start, end = _instant(start_text, "--from"), _instant(end_text, "--to")
    if end <= start:
        raise click.BadParameter("must be after --from", param_hint="--to")
    policy, overrides = _duty_context(start, end)
    if team not in policy.team_index:
        raise click.BadParameter(f"no team `{team}` in the policy", param_hint="--team")
    found = [shift_json(policy, s) for s in team_shifts(
        policy, team, start, end, role=role, overrides=overrides)]  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps({"team": team, "role": role, "shifts": found}, indent=2,
                              ensure_ascii=False))
        return
    zone = policy.town.timezone
    for shift in found:
        begin = dt.datetime.fromisoformat(shift["start"]).astimezone(ZoneInfo(zone))
        until = dt.datetime.fromisoformat(shift["end"]).astimezone(ZoneInfo(zone))
        click.echo(f"{begin:%a %Y-%m-%d %H:%M} - {until:%a %Y-%m-%d %H:%M} {zone}: "
                   f"{_names(shift['people'])} [{', '.join(shift['sources'])}]")


@main.command()
@click.option("--policies", "policies_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Policy directory to try (default GUARDIAN_POLICIES_DIR).")
@click.option("--messages", "messages_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON Lines: messages with `received_at`, acks and mutes (see docs).")
@click.option("--scorer", type=click.Choice(["auto", "lite", "detoxify"]), default="lite",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@click.option("--reasons", is_flag=True, help="Print each event's reasons under it.")
def simulate(policies_dir: Path | None, messages_file: Path, scorer: str, as_json: bool,
             reasons: bool) -> None:
    """Replay messages through scoring, decisions, escalation timers and digests in
    simulated time, and print every event with its reasons. Touches no database: try a
    policy change before it goes live."""
    from guardian.engine.simulate import ReplayError, Simulation, read_replay
    from guardian.scoring.assessor import assessor_for

    settings = _settings()
    directory = policies_dir or settings.policies_dir
    loaded = load_policy(directory)
    if loaded.policy is None:
        for problem in loaded.errors:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    try:
        items = read_replay(messages_file)
    except ReplayError as exc:
        raise click.ClickException(f"{messages_file}: {exc}") from None
    model, status = load_model(settings, scorer)
    _warn_scorer(status)
    simulation = Simulation(policy=loaded.policy,
                            assessor=assessor_for(model, loaded.policy, status.attributor))
    zone = ZoneInfo(loaded.policy.town.timezone)
    for event in simulation.run(items):
        if as_json:
            click.echo(json.dumps(event.as_json(), ensure_ascii=False))
            continue
        click.echo(event.line(zone))
        if reasons:
            for reason in event.reasons:
                click.echo(f"      - {reason}")


@main.command()
@click.argument("message_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="The stored assessment and decision.")
def explain(message_id: int, as_json: bool) -> None:
    """Why a message went where it went: its scores, its category and urgency, and each
    outcome with its reasons (rotation, override, quiet hours, rate limit...)."""
    from guardian.decide import Decision
    from guardian.storage.messages import get_message

    settings = _settings()

    async def read() -> Message | None:
        engine = create_engine(settings.database_url)
        try:
            found = await get_message(engine=engine, message_id=message_id)
        finally:
            await engine.dispose()
        return found[0] if found else None

    message = asyncio.run(read())
    if message is None:
        raise click.ClickException(f"no message {message_id}")
    if as_json:
        click.echo(json.dumps({"id": message.id, "stage": message.stage,
                               "assessment": message.assessment,
                               "masked_text": message.masked_text,
                               "decision": message.decision}, indent=2, ensure_ascii=False))
        return
    click.echo(f"message {message.id} from {message.author_handle} on {message.source}, "
               f"stage {message.stage}")
    if message.assessment:
        click.echo(f"scored {message.assessment['level']} by "
                   f"{message.assessment['scorer']['name']}:")
        for reason in message.assessment.get("reasons", []):
            click.echo(f"  - {reason}")
        click.echo(f"staff see: {message.masked_text}")
    if message.decision is None:
        click.echo("not decided yet.")
        return
    for line in Decision.from_json(message.decision).explain():
        click.echo(line)


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
    result = load_policy(directory, now=dt.datetime.now(dt.UTC))
    for problem in result.problems:
        click.echo(str(problem), err=problem.severity == "error")
    if result.policy is None:
        click.echo(f"{directory}: {len(result.errors)} error(s); the policy was not loaded.",
                   err=True)
        raise SystemExit(1)
    summary = ", ".join(f"{n} {what}" for what, n in result.policy.summary().items())
    click.echo(f"{directory}: valid ({summary}; {len(result.warnings)} warning(s)).")


@main.group()
def channels() -> None:
    """Staff's notification channels (apprise URLs in the policy)."""


@channels.command("test")
@click.argument("staff_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of the results.")
def channels_test(staff_id: str, as_json: bool) -> None:
    """Send a short test message on each of STAFF_ID's channels, in order, and print one
    line per channel: number, URL (secrets masked), OK or FAILED, time taken, error.

    Goes through apprise directly, not the outbox. Exit 0 when every channel worked, 1 when
    one failed, 2 for an unknown person or a person without channels.
    """
    from guardian.config.secrets import secret_source
    from guardian.notify.channels_check import check_person

    settings = _settings()
    loaded = load_policy(settings.policies_dir)
    if loaded.policy is None:
        for problem in loaded.errors:
            click.echo(str(problem), err=True)
        click.echo(f"error: the policy in {settings.policies_dir} has errors; fix them first "
                   "(`guardian policies check`).", err=True)
        raise SystemExit(2)
    person = loaded.policy.people.get(staff_id)
    if person is None:
        known = sorted(loaded.policy.people)
        more = f" and {len(known) - 10} more" if len(known) > 10 else ""
        click.echo(f"error: no staff member `{staff_id}` in {settings.policies_dir}; valid ids "
                   f"are the `id:` fields of its `staff:` section ({', '.join(known[:10])}"
                   f"{more}).", err=True)
        raise SystemExit(2)
    if not person.channels:
        click.echo(f"error: {person.name} (`{person.id}`) has no channels; add apprise URLs "
                   f"under `channels:` in their entry in {settings.policies_dir} "
                   "(docs/policies.md).", err=True)
        raise SystemExit(2)
    # apprise's own warnings are in each result's error; keep them off stderr.
    logging.getLogger("apprise").addHandler(logging.NullHandler())
    click.echo(f"testing {len(person.channels)} channel(s) of {person.name} (`{person.id}`)",
               err=True)
    results = []
    for result in check_person(person, secret_source(settings)):
        results.append(result)
        if not as_json:
            click.echo(result.line())
    if as_json:
        click.echo(json.dumps([r.as_json() for r in results], indent=2, ensure_ascii=False))
    failed = sum(not r.ok for r in results)
    if failed:
        click.echo(f"{failed} of {len(results)} channel(s) FAILED.", err=True)
        raise SystemExit(1)
    click.echo(f"all {len(results)} channel(s) OK.", err=True)


if __name__ == "__main__":
    main()
