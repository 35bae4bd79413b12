"""`guardian report`: the wellbeing report of one ISO week (docs/report.md), from the
database and the policy, as a table, JSON (the API's) or CSV (the page's)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from zoneinfo import ZoneInfo

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.cli.common import policy_or_exit, settings_or_exit, with_database
from guardian.policy.model import Policy
from guardian.policy.names import person_name, team_name
from guardian.report.wellbeing import (
    Row,
    WeekError,
    WellbeingReport,
    csv_text,
    last_complete_week,
    parse_week,
)
from guardian.schedule.localtime import zone
from guardian.storage.report import wellbeing_report

# (heading, the Row's field) of the table's columns.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("kept", "kept_from_quiet_hours"), ("in quiet", "contacted_in_quiet_hours"),
    ("night", "night_pages"), ("acked", "night_pages_acknowledged"),
    ("min", "minutes_to_acknowledge"), ("masked", "shielded"), ("held", "held"),
    ("storms", "storms"), ("on call h", "on_call_hours"), ("weeks", "on_call_weeks_in_row"))
LEGEND = ("kept: contacts kept from quiet hours; in quiet: sent in quiet hours (should be 0); "
          "night: night pages (a person: times paged at night); acked: acknowledged (a "
          "person: by them); min: median minutes to acknowledge; masked, held: abusive "
          "messages; on call h: hours on call; weeks: on-call weeks in a row (* over the "
          "limit)")


def _cell(row: Row, name: str) -> str:
    value = getattr(row, name)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if name == "on_call_weeks_in_row" and row.over_on_call_limit:
        return f"{value}*"
    return str(value)


def table(report: WellbeingReport, policy: Policy, now: dt.datetime) -> str:
    tz = ZoneInfo(report.timezone)
    week = report.week
    last = week.end.astimezone(tz) - dt.timedelta(days=1)
    lines = [f"Wellbeing report, week {week.label}: Monday "
             f"{week.start.astimezone(tz):%d/%m/%Y} to Sunday {last:%d/%m/%Y} "
             f"({report.timezone})" + ("" if now >= week.end else ", not over yet"), ""]
    rows = [report.town, *report.teams, *report.people]
    width = min(max(len(r.name) for r in rows), 36)
    lines.append(f"{'':<{width}}  " + "  ".join(f"{h:>{max(len(h), 4)}}" for h, _ in COLUMNS))
    for n, row in enumerate(rows):
        if n in (1, 1 + len(report.teams)):
            lines.append("")
        lines.append(f"{row.name[:width]:<{width}}  " + "  ".join(
            f"{_cell(row, name):>{max(len(h), 4)}}" for h, name in COLUMNS))
    lines += ["", textwrap.fill(LEGEND, 100), ""]
    lines.append("Pages at night:" if report.night_pages else "Pages at night: none")
    for page in report.night_pages:
        woken = ", ".join(f"{person_name(policy, who)} {at.astimezone(tz):%H:%M}"
                          for who, at in page.woken)
        acked = (f"acknowledged by {person_name(policy, page.acknowledged_by)} after "
                 f"{page.minutes_to_acknowledge:g} min" if page.acknowledged_by
                 and page.minutes_to_acknowledge is not None else "not acknowledged")
        lines.append(f"  {page.opened_at.astimezone(tz):%d/%m %H:%M} "
                     f"{team_name(policy, page.team) or page.team}: woke {woken}; {acked}")
    lines.append("Storms:" if report.storms else "Storms: none")
    for storm in report.storms:
        kind, _, ident = storm.target.partition(":")
        target = person_name(policy, ident) if kind == "person" else (
            team_name(policy, ident) or storm.target)
        lines.append(f"  {storm.started_at.astimezone(tz):%d/%m %H:%M} on {target}: "
                     f"{storm.distinct_authors} authors, {storm.abusive_messages} abusive "
                     f"messages when caught; {storm.held_messages} held")
    moderators = [r for r in report.people if r.exposure is not None]
    lines.append(f"Moderators' exposure (limit {report.exposure_limit} a day):"
                 if moderators else "Moderators' exposure: the policy names no moderators")
    for row in moderators:
        lines.append(f"  {row.name}: {row.exposure} abusive items read, "
                     f"{row.days_at_exposure_limit} days at the limit")
    return "\n".join(lines)


@click.command("report")
@click.option("--week", "week_text", default=None,
              help="An ISO week on the town's clock, e.g. 2026-W49 (default: the last one "
                   "that is over).")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]),
              default="table", show_default=True,
              help="A table to read, the API's JSON, or the page's CSV.")
def report(week_text: str | None, output: str) -> None:
    """The wellbeing report of one week: per person, per team and for the town, contacts
    kept from quiet hours, pages at night and who acknowledged them, abusive messages
    masked and held, storms, on-call weeks in a row and the moderators' exposure
    (docs/report.md)."""
    settings = settings_or_exit()
    policy = policy_or_exit(settings.policies_dir)
    tz = zone(policy.town.timezone)
    now = dt.datetime.now(dt.UTC)
    try:
        week = parse_week(week_text, tz) if week_text else last_complete_week(now, tz)
    except WeekError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None

    async def read(engine: AsyncEngine) -> WellbeingReport:
        try:
            found, _ = await wellbeing_report(engine, policy, week)
        except Exception as exc:
            raise click.ClickException(
                f"cannot read the report from the database ({type(exc).__name__}); is it "
                "migrated (`guardian db upgrade`)?") from None
        return found

    found = with_database(settings, read)
    if output == "json":
        click.echo(json.dumps({**found.to_json(), "complete": now >= week.end}, indent=2,
                              ensure_ascii=False))
    elif output == "csv":
        click.echo(csv_text(found), nl=False)
    else:
        click.echo(table(found, policy, now))
