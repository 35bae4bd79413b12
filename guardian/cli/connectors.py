"""`guardian connectors`: the public feeds of the policy (docs/connectors.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import aiohttp
import click

from guardian.cli.common import policy_or_exit, settings_or_exit, with_database
from guardian.config.secrets import secret_source
from guardian.connectors.base import ConnectorError
from guardian.connectors.factory import cursor_since, missing_credentials, polling_connector
from guardian.connectors.status import connector_report
from guardian.policy.model import Connector, Policy
from guardian.storage.connectors import connector_states, set_cursor
from guardian.storage.db import utcnow


@click.group()
def connectors() -> None:
    """The public feeds that flow in (the policy's `connectors`)."""


def _policy() -> tuple[Policy, str]:
    settings = settings_or_exit()
    policy = policy_or_exit(settings.policies_dir, code=2,
                            hint=f"error: the policy in {settings.policies_dir} has errors; "
                                 "fix them first (`guardian policies check`).")
    return policy, settings.base_url


def _chosen(policy: Policy, ident: str | None) -> list[Connector]:
    if ident is None:
        return list(policy.connectors)
    found = [c for c in policy.connectors if c.id == ident]
    if not found:
        known = ", ".join(c.id for c in policy.connectors) or "none"
        click.echo(f"error: no connector `{ident}` in the policy (connectors: {known}).",
                   err=True)
        raise SystemExit(2)
    return found


@connectors.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def connectors_status(as_json: bool) -> None:
    """Each connector: state, last event, last fetch, counts, last error."""
    settings = settings_or_exit()
    policy, _ = _policy()
    states = with_database(settings, lambda engine: connector_states(engine=engine))
    report = connector_report(policy.connectors, states, secret_source(settings), utcnow())
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    if not report:
        click.echo("no connectors in the policy (docs/connectors.md)")
    for entry in report:
        error = f"  last error: {entry['last_error']}" if entry["last_error"] else ""
        missing = f"  missing: {', '.join(entry['missing'])}" if entry["missing"] else ""
        click.echo(f"{entry['id']:<20} {entry['kind']:<9} {entry['mode']:<7} "
                   f"{entry['state']:<16} events {entry['events']}, skipped "
                   f"{entry['skipped']}, last event {entry['last_event_at'] or '-'}"
                   f"{missing}{error}")


@connectors.command("check")
@click.argument("ident", required=False)
def connectors_check(ident: str | None) -> None:
    """Try each connector's credentials and reach (one read, nothing stored); for a pushed
    one, say whether its secrets are set and where the network must post. Exit 1 when one
    failed."""
    settings = settings_or_exit()
    policy, base_url = _policy()
    environ = secret_source(settings)

    async def check(spec: Connector) -> tuple[bool, str]:
        missing = missing_credentials(spec, environ)
        if missing:
            return False, f"not set: {', '.join(missing)}"
        if not spec.polled:
            return True, f"secrets set; the network posts to {base_url}/hooks/{spec.id}"
        connector = polling_connector(spec, environ)
        if connector is None:
            return False, "cannot be built (see the log)"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            try:
                # A read that changes nothing on the network (Telegram: getMe).
                check_only = getattr(connector, "check", None)
                if check_only is not None:
                    await check_only(session)
                else:
                    await connector.fetch(session, None)
            except ConnectorError as exc:
                return False, str(exc)
        return True, "credentials accepted, the network answered"

    failed = 0
    for spec in _chosen(policy, ident):
        if not spec.enabled:
            click.echo(f"{spec.id:<20} disabled")
            continue
        ok, detail = asyncio.run(check(spec))
        failed += not ok
        click.echo(f"{spec.id:<20} {'OK' if ok else 'FAILED':<7} {detail}")
    raise SystemExit(1 if failed else 0)


@connectors.command("backfill")
@click.argument("ident")
@click.option("--since", required=True,
              help="ISO 8601 instant (with its zone): read again what came after it.")
def connectors_backfill(ident: str, since: str) -> None:
    """Move a connector's cursor back to --since: its next round reads from there (what
    was stored already is not stored twice). Run while the service runs."""
    settings = settings_or_exit()
    policy, _ = _policy()
    [spec] = _chosen(policy, ident)
    try:
        when = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        click.echo(f"error: --since {since!r} is not an ISO 8601 instant "
                   "(e.g. 2026-12-05T22:00:00+01:00).", err=True)
        raise SystemExit(2) from None
    if when.tzinfo is None:
        click.echo("error: --since needs a time zone (e.g. 2026-12-05T22:00:00+01:00).",
                   err=True)
        raise SystemExit(2)
    if not spec.polled:
        click.echo(f"error: `{spec.id}` is pushed to Guardian (/hooks/{spec.id}): it has no "
                   "cursor to move; ask the sender to deliver again.", err=True)
        raise SystemExit(2)
    cursor = cursor_since(spec, when)
    if cursor is None:
        click.echo(f"error: {spec.kind} offers no way back in time (Telegram keeps only "
                   "what it has not delivered, for 24 hours); nothing changed.", err=True)
        raise SystemExit(2)
    with_database(settings, lambda engine: set_cursor(engine=engine, name=spec.id,
                                                      kind=spec.kind, cursor=cursor))
    click.echo(f"{spec.id}: reading from {when.isoformat()} at its next round")
