"""`guardian tokens`: API tokens and their roles."""

from __future__ import annotations

import json

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import settings_or_exit, with_database
from guardian.policy_files.loader import load_policy
from guardian.storage.migrate import upgrade
from guardian.storage.tokens import TokenNameTaken, create_token, list_tokens, revoke_token
from guardian.types import Role


@click.group()
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
    settings = settings_or_exit()
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


@tokens.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def tokens_list(include_revoked: bool, as_json: bool) -> None:
    """List tokens (never the tokens themselves: only id, name, role, prefix, dates)."""
    settings = settings_or_exit()
    found = with_database(settings, lambda engine: list_tokens(
        engine=engine, include_revoked=include_revoked))
    rows = [{"id": t.id, "name": t.name, "role": t.role, "prefix": t.prefix + "…",
             "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
            for t in found]
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
    settings = settings_or_exit()
    count = with_database(settings, lambda engine: revoke_token(engine=engine,
                                                                id_or_name=id_or_name))
    if count == 0:
        click.echo(f"no live token matches {id_or_name!r}", err=True)
        raise SystemExit(1)
    click.echo(f"revoked {count} token(s)")
