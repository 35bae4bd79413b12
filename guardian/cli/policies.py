"""`guardian policies`: HR's duty policies."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from guardian.policy_files.loader import load_policy


@click.group()
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
