"""The `guardian` command: everything an operator scripts. One module per command group;
`common` holds what they share (settings, the database they open and dispose)."""

from __future__ import annotations

import os

import click

from guardian import __version__
from guardian.cli.channels import channels
from guardian.cli.connectors import connectors
from guardian.cli.db import db
from guardian.cli.decisions import explain, simulate
from guardian.cli.duty import oncall, shifts
from guardian.cli.labels import labels
from guardian.cli.messages import messages
from guardian.cli.people import people
from guardian.cli.policies import policies
from guardian.cli.privacy import privacy
from guardian.cli.report import report
from guardian.cli.scoring import (
    eval_command,
    models,
    score,
    train_lite_command,
    train_signals_command,
)
from guardian.cli.service import serve, worker
from guardian.cli.tokens import tokens
from guardian.cli.whatif import what_if
from guardian.config.settings import SETTINGS
from guardian.policy.urls import redact


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Settings come from GUARDIAN_* environment variables; "
                    "see `guardian settings`.")
@click.version_option(__version__, prog_name="guardian")
def main() -> None:
    """Guardian: scores public messages for harassment and routes requests to the staff
    member on duty, on the channel they chose, outside their quiet hours."""


def _shown(name: str, value: str) -> str:
    """A setting's value as it may be printed: secrets never, URLs without passwords."""
    if any(word in name for word in ("SECRET_KEY", "PASSWORD", "TOKEN")):
        return "(set)"
    return redact(value)


@main.command()
def settings() -> None:
    """List every GUARDIAN_* setting: the value in force here (from the environment, or
    the default), its default and its meaning. Secrets show as `(set)`."""
    for setting in SETTINGS:
        default = setting.default or "(none)"
        raw = os.environ.get(setting.name)
        if raw is None:
            click.echo(f"{setting.name}={default}  (default)\n    {setting.help}")
        else:
            click.echo(f"{setting.name}={_shown(setting.name, raw)}  (from the environment; "
                       f"default {default})\n    {setting.help}")


for command in (serve, worker, db, tokens, score, eval_command, train_lite_command,
                train_signals_command, models,
                oncall, shifts, simulate, explain, policies, channels, labels, messages,
                privacy, connectors, people, report):
    main.add_command(command)
main.add_command(what_if)  # the policy what-if

__all__ = ["main"]
