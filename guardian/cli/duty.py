"""`guardian oncall` and `guardian shifts`: who is on duty, from the policy and the
overrides stored in the database."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import instant, policy_or_exit, settings_or_exit, with_database
from guardian.policy.model import Policy
from guardian.schedule import Override, team_shifts
from guardian.schedule.views import shift_json, who_is_on
from guardian.storage.overrides import active_overrides


def _duty_context(start: dt.datetime, end: dt.datetime) -> tuple[Policy, list[Override]]:
    """The policy and the overrides stored in the database, for CLI look-ups."""
    settings = settings_or_exit()
    policy = policy_or_exit(settings.policies_dir)

    async def read(engine: AsyncEngine) -> list[Override]:
        try:
            return await active_overrides(engine, start=start, end=end)
        except Exception as exc:
            raise click.ClickException(
                f"cannot read overrides from the database ({type(exc).__name__}); is it "
                "migrated (`guardian db upgrade`)?") from None

    return policy, with_database(settings, read)


def _names(people: list[dict[str, str]]) -> str:
    return ", ".join(p["name"] for p in people) or "NO ONE"


@click.command()
@click.option("--team", default=None, help="Only this team (default: every team).")
@click.option("--at", "at_text", default=None, help="ISO 8601 instant (default: now).")
@click.option("--json", "as_json", is_flag=True, help="JSON, one object per team.")
def oncall(team: str | None, at_text: str | None, as_json: bool) -> None:
    """Who is on duty and who is on call, per team, and why (rotation, working hours,
    override). A period with no one says so."""
    at = instant(at_text, "--at")
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


@click.command()
@click.option("--team", required=True, help="Team id.")
@click.option("--from", "start_text", required=True, help="ISO 8601 instant.")
@click.option("--to", "end_text", required=True, help="ISO 8601 instant.")
@click.option("--role", type=click.Choice(["duty", "on_call"]), default="duty",
              show_default=True)
@click.option("--json", "as_json", is_flag=True)
def shifts(team: str, start_text: str, end_text: str, role: str, as_json: bool) -> None:
    """A team's shifts between two instants: who, from when to when, and why."""
    start, end = instant(start_text, "--from"), instant(end_text, "--to")
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
