"""`guardian tokens`: API tokens and their roles."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import settings_or_exit, with_database
from guardian.policy_files.loader import load_policy
from guardian.storage.migrate import upgrade
from guardian.storage.tokens import TokenNameTaken, create_token, list_tokens, revoke_token
from guardian.types import PERSONAL_ROLES, Role


@click.group()
def tokens() -> None:
    """API tokens: each has a role (ingest, staff, moderator, hr, report, admin)."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="What the token may do.")
@click.option("--name", required=True, help="Who or what uses it, e.g. `mastodon-feed`.")
@click.option("--staff", "staff_id", default=None,
              help="The person's id in the policies: required for staff and moderator "
                   "tokens (a moderator must be listed in moderation.moderators), optional "
                   "for hr, report and admin (their actions are then recorded by person).")
def tokens_create(role: str, name: str, staff_id: str | None) -> None:
    """Create a token and print it alone on stdout. It is shown once: store it now."""
    settings = settings_or_exit()
    problem = _binding_problem(Role(role), staff_id, settings.policies_dir)
    if problem is not None:
        click.echo(f"error: {problem}", err=True)
        raise SystemExit(2)

    async def create(engine: AsyncEngine) -> tuple[int, str]:
        await upgrade(engine)
        return await create_token(engine=engine, name=name, role=Role(role), staff_id=staff_id)

    try:
        token_id, token = with_database(settings, create)
    except TokenNameTaken as exc:
        click.echo(f"error: {exc}.", err=True)
        raise SystemExit(2) from None
    click.echo(f"created token {token_id} ({role}) for {name}", err=True)
    click.echo(token)


def _binding_problem(role: Role, staff_id: str | None, policies_dir: Path) -> str | None:
    """Why this token may not be created, or None: the same rule the service applies to
    every request (guardian/web/auth.py), checked here so that nobody holds a token that
    would be refused."""
    if role in PERSONAL_ROLES and staff_id is None:
        return (f"a {role.value} token belongs to a person: add --staff ID (their id in "
                "the policies).")
    if role == Role.ingest and staff_id is not None:
        return "an ingest token is a machine's, not a person's: drop --staff."
    if staff_id is None:
        return None
    loaded = load_policy(policies_dir)
    if loaded.policy is None:
        return (f"the policies in {policies_dir} do not load, so `{staff_id}` cannot be "
                "checked; run `guardian policies check` and fix them first.")
    if staff_id not in loaded.policy.people:
        return f"no staff member `{staff_id}` in {policies_dir}."
    if role == Role.moderator and staff_id not in loaded.policy.moderation.moderators:
        return (f"`{staff_id}` is not listed in moderation.moderators "
                f"({policies_dir}); add them there first.")
    return None


@tokens.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def tokens_list(include_revoked: bool, as_json: bool) -> None:
    """List tokens (never the tokens themselves: only id, name, role, prefix, dates)."""
    settings = settings_or_exit()
    found = with_database(settings, lambda engine: list_tokens(
        engine=engine, include_revoked=include_revoked))
    rows = [{"id": t.id, "name": t.name, "role": t.role, "staff": t.staff_id,
             "prefix": t.prefix + "…",
             "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
            for t in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        revoked = f"  revoked {row['revoked_at']}" if row["revoked_at"] else ""
        person = f"  ({row['staff']})" if row["staff"] else ""
        click.echo(f"{row['id']:>4}  {row['role']:<9}  {row['prefix']:<10}  {row['name']}"
                   f"{person}{revoked}")


@tokens.command("revoke")
@click.argument("id_or_name")
def tokens_revoke(id_or_name: str) -> None:
    """Revoke a token by id, or all live tokens with that name."""
    settings = settings_or_exit()
    count = with_database(settings, lambda engine: revoke_token(engine=engine,
                                                                id_or_name=id_or_name))
    if count == 0:
        click.echo(f"no live token matches {id_or_name!r}", err=True)
        raise SystemExit(1)
    click.echo(f"revoked {count} token(s)")
