"""`guardian people`: who may sign in to the web pages, and their invitations."""

from __future__ import annotations

import json

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import policy_or_exit, settings_or_exit, with_database
from guardian.storage.accounts import (
    INVITATION_DAYS,
    create_invitation,
    end_all_sessions,
    list_accounts,
)
from guardian.storage.db import utcnow
from guardian.storage.migrate import upgrade


def invitation_link(base_url: str, token: str) -> str:
    return f"{base_url}/invitation/{token}"


@click.group()
def people() -> None:
    """Staff who sign in to the web pages (each a staff id of the policy)."""


@people.command("invite")
@click.argument("staff_id")
@click.option("--days", type=click.IntRange(1, 30), default=INVITATION_DAYS,
              show_default=True, help="How long the link works.")
def people_invite(staff_id: str, days: int) -> None:
    """Print a one-time link with which STAFF_ID sets a password (or a new one: their
    sessions then end). Send it to them yourself, on a channel you trust."""
    settings = settings_or_exit()
    policy = policy_or_exit(settings.policies_dir,
                            hint="Fix the policies first: `guardian policies check`.")
    if staff_id not in policy.people:
        click.echo(f"error: no staff member `{staff_id}` in {settings.policies_dir}.",
                   err=True)
        raise SystemExit(2)

    async def invite(engine: AsyncEngine) -> str:
        await upgrade(engine)
        return await create_invitation(engine=engine, staff_id=staff_id,
                                       created_by="cli:people-invite", now=utcnow(),
                                       days=days)

    token = with_database(settings, invite)
    click.echo(f"invitation for {staff_id} ({policy.people[staff_id].name}), "
               f"valid {days} days, once:", err=True)
    click.echo(invitation_link(settings.base_url, token))


@people.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def people_list(as_json: bool) -> None:
    """Who has set a password, when, and the language they chose."""
    settings = settings_or_exit()
    found = with_database(settings, lambda engine: list_accounts(engine=engine))
    rows = [{"staff": a.staff_id, "password_set_at": a.password_set_at.isoformat()
             if a.password_set_at else None, "lang": a.lang} for a in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['staff']:<16}  password set {row['password_set_at'] or 'never'}"
                   f"  language {row['lang'] or '(from the policy)'}")


@people.command("signout")
@click.argument("staff_id")
def people_signout(staff_id: str) -> None:
    """End every session of STAFF_ID now (a lost phone, someone leaving)."""
    settings = settings_or_exit()
    count = with_database(settings, lambda engine: end_all_sessions(
        engine=engine, staff_id=staff_id, actor="cli:people-signout", now=utcnow()))
    click.echo(f"ended {count} session(s) of {staff_id}")
