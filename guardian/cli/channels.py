"""`guardian channels`: staff's notification channels."""

from __future__ import annotations

import json
import logging

import click

from guardian.cli.common import policy_or_exit, settings_or_exit
from guardian.config.secrets import secret_source
from guardian.notify.channels_check import check_person


@click.group()
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
    settings = settings_or_exit()
    policy = policy_or_exit(
        settings.policies_dir, code=2,
        hint=f"error: the policy in {settings.policies_dir} has errors; fix them first "
             "(`guardian policies check`).")
    person = policy.people.get(staff_id)
    if person is None:
        known = sorted(policy.people)
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
