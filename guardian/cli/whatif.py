"""`guardian what-if`: the policy what-if from the server (no bound on the messages, unlike
the web page and the API)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from guardian.cli.common import (
    instant,
    policy_or_exit,
    settings_or_exit,
    warn_scorer,
    with_database,
)
from guardian.cli.scoring import SCORERS

# How the figures are named in the table (totals; per person).
_LABELS = {"contacts": "contacts", "after_hours": "after hours", "quiet_hours": "quiet hours",
           "pages": "pages", "waited": "waited for digest", "unrouted": "reached no one"}
_SHORT = {**_LABELS, "waited": "waited"}


@click.command("what-if")
@click.option("--policies", "policies_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Changed policy files: each replaces the file of the same name in the "
                   "policy in force (GUARDIAN_POLICIES_DIR); a new name adds one.")
@click.option("--days", type=click.IntRange(1, 28), default=7, show_default=True,
              help="Days of stored traffic to replay, up to --until.")
@click.option("--until", "until", default=None,
              help="End of the period, ISO 8601 with a zone (default: now).")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Replay only the most recent N messages of the period.")
@click.option("--scorer", type=SCORERS, default="lite", show_default=True,
              help="The scorer of both runs.")
@click.option("--json", "as_json", is_flag=True, help="The difference as one JSON object.")
def what_if(policies_dir: Path, days: int, until: str | None, limit: int | None, scorer: str,
            as_json: bool) -> None:
    """Replay the last days of stored traffic through the live engine (as `guardian
    simulate` does) under the policy in force and under it with the files of --policies
    written over, and print the difference side by side: contacts, after hours, quiet
    hours, pages and digests per person, messages that reach no one, and each message
    whose contacts change, with the times. The files are checked first, as `guardian
    policies check` checks them: with an error, nothing is replayed (exit 1). Touches no
    database of yours."""
    from guardian.engine.whatif import replay_run, report, stored_traffic, unchanged
    from guardian.policy_files.loader import policy_files
    from guardian.policy_files.overlay import with_changes
    from guardian.scoring.select import load_model

    settings = settings_or_exit()
    end = instant(until, "--until")
    old = policy_or_exit(settings.policies_dir,
                         hint="The policy in force does not load: fix it first.")
    try:
        texts = {p.name: p.read_text(encoding="utf-8") for p in policy_files(policies_dir)}
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{policies_dir}: cannot be read ({exc}).") from None
    if not texts:
        raise click.ClickException(f"{policies_dir}: holds no *.yaml policy files.")
    changed = with_changes(settings.policies_dir, texts, now=end)
    for problem in changed.problems:
        click.echo(str(problem), err=True)
    if changed.policy is None:
        click.echo(f"{policies_dir}: {len(changed.errors)} error(s); nothing was replayed.",
                   err=True)
        raise SystemExit(1)
    traffic = with_database(settings, lambda engine: stored_traffic(
        engine, start=end - dt.timedelta(days=days), end=end, limit=limit))
    if changed.policy == old:
        result = unchanged(traffic, days)
    else:
        model, status = load_model(settings, scorer)
        warn_scorer(status)
        result = report(traffic, days, replay_run(traffic.items, old, traffic.overrides, model),
                        replay_run(traffic.items, changed.policy, traffic.overrides, model))
    if as_json:
        click.echo(json.dumps({
            **result.as_json(), "files": {"replaced": changed.replaced, "added": changed.added},
            "warnings": [{"file": p.file, "line": p.line, "message": p.message}
                         for p in changed.warnings]}, indent=2, ensure_ascii=False))
        return
    zone = ZoneInfo(old.town.timezone)
    new = changed.policy

    def name(person: str) -> str:
        found = (new.people.get(person) or old.people.get(person))
        return found.name if found is not None else person

    def when(at: dt.datetime) -> str:
        return f"{at.astimezone(zone):%Y-%m-%d %H:%M}"

    def listed(names: Sequence[str]) -> str:
        return ", ".join(names) or "none"

    shown = traffic.messages
    click.echo(f"Files replaced: {listed(changed.replaced)}; added: {listed(changed.added)}.")
    click.echo(f"Replayed {len(shown)} message(s) received {when(result.start)} to "
               f"{when(result.end)} ({zone}), {traffic.acks} acknowledgement(s), "
               f"{len(traffic.overrides)} override(s) in force; left out: {traffic.redacted} "
               f"redacted, {traffic.unreadable} unreadable, {traffic.beyond_limit} beyond "
               "the limit.")
    if result.same:
        click.echo("The files leave the policy in force as it is: nothing would change.")
        return
    diff = result.diff
    click.echo(f"\n  {'(* marks what changes)':<30}{'in force':>10}{'changed':>10}")
    for metric, pair in diff.totals:
        mark = "*" if pair.changed else " "
        click.echo(f"{mark} {_LABELS[metric]:<30}{pair.old:>10}{pair.new:>10}")
    metrics = [m for m, _ in diff.totals if m != "unrouted"]
    click.echo((f"\n  {'per person':<30}" + "".join(f"{_SHORT[m]:^18}" for m in metrics))
               .rstrip())
    click.echo("  (in force | changed)")
    for row in diff.people:
        mark = "*" if row.changed else " "
        cells = "".join(f"{getattr(row, m).old:>8} | {getattr(row, m).new:<7}"
                        for m in metrics)
        click.echo(f"{mark} {name(row.person)[:30]:<30}{cells}".rstrip())
    click.echo(f"\nMessages whose contacts change: {len(diff.messages)}")
    for change in diff.messages:
        stored = shown.get(change.message)
        route = change.old_route or change.new_route
        click.echo(f"  message {change.message}, received "
                   f"{when(stored.received_at) if stored else '?'}"
                   f"{', ' + route.category if route else ''}"
                   f"{': ' + stored.text if stored and stored.text else ''}")
        for label, touches, where in (("in force", change.old, change.old_route),
                                      ("changed ", change.new, change.new_route)):
            said = "; ".join(f"{name(t.person)} {when(t.at)} {t.kind}" for t in touches)
            if not said:
                said = ("no one: held for the moderators" if where is not None
                        and where.unrouted else "no one")
            click.echo(f"    {label}: {said}")
