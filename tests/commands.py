"""The `guardian` command run in this process (click's CliRunner): the same command, its
exit status, stdout and stderr, without a process start for each call. Commands that must
be real processes (serve, worker: signals, a port) keep `tests.cli.test_service`'s
subprocesses."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from guardian.cli import main
from tests.conftest import POLICIES, ROOT, Database
from tests.receivers import closed_port

# The command as a process of its own (serve, worker).
GUARDIAN = [sys.executable, "-m", "guardian"]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def invoke(*args: str, env: Mapping[str, str | None], cwd: Path = ROOT) -> Ran:
    """Run `guardian ARGS` with exactly `env`'s GUARDIAN_* settings (every other GUARDIAN_*
    variable of this process unset while it runs; a None value unsets that variable too),
    in `cwd`. An unexpected exception is raised, not folded into the exit status."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("GUARDIAN_")}
    with _cwd(cwd):
        result = CliRunner().invoke(main, list(args), env={**unset, **env},
                                    prog_name="python -m guardian", catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def env_for(database: Database | None = None, **extra: str) -> dict[str, str]:
    """A development environment on the example policies (and `database`), every
    notification sent to a closed loopback port (never the example's real-looking hosts)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARDIAN_")}
    env.update({"GUARDIAN_ENV": "development", "GUARDIAN_POLICIES_DIR": str(POLICIES),
                "GUARDIAN_DELIVER_TO": f"json://127.0.0.1:{closed_port()}/{{person}}"})
    if database is not None:
        env["GUARDIAN_DATABASE_URL"] = database.url
    env.update(extra)
    return env


def run(*args: str, env: Mapping[str, str | None], cwd: Path = ROOT) -> Ran:
    """`guardian ARGS` in this process."""
    return invoke(*args, env=env, cwd=cwd)
