"""The `guardian` command run in this process (click's CliRunner): the same command, its
exit status, stdout and stderr, without a process start for each call. Commands that must
be real processes (serve, worker: signals, a port) keep `tests.cli.test_service`'s
subprocesses."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from guardian.cli import main

ROOT = Path(__file__).resolve().parents[1]


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
