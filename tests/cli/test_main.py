"""The `guardian` command's face: every command explains itself."""

from __future__ import annotations

import pytest

from tests.commands import env_for, run


@pytest.mark.parametrize("command", [[], ["serve"], ["worker"], ["db"], ["db", "upgrade"],
                                     ["oncall"], ["shifts"], ["score"], ["eval"], ["train-lite"],
                                     ["models", "pull"],
                                     ["tokens"], ["tokens", "create"], ["policies", "check"],
                                     ["settings"]])
def test_every_command_explains_itself(command: list[str]) -> None:
    shown = run(*command, "--help", env=env_for())
    assert shown.returncode == 0
    assert "Usage: python -m guardian" in shown.stdout
    assert len(shown.stdout.splitlines()) > 3


