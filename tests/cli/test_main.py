"""The `guardian` command's face: every command explains itself."""

from __future__ import annotations

import pytest

from tests.commands import env_for, run


@pytest.mark.parametrize("command", [[], ["serve"], ["worker"], ["db"], ["db", "upgrade"],
                                     ["oncall"], ["shifts"], ["score"], ["eval"], ["train-lite"],
                                     ["models", "pull"],
                                     ["tokens"], ["tokens", "create"], ["policies", "check"],
                                     ["people"], ["people", "invite"], ["settings"]])
def test_every_command_explains_itself(command: list[str]) -> None:
    shown = run(*command, "--help", env=env_for())
    assert shown.returncode == 0
    assert "Usage: python -m guardian" in shown.stdout
    assert len(shown.stdout.splitlines()) > 3




def test_settings_shows_the_values_in_force_and_never_a_secret() -> None:
    env = env_for(GUARDIAN_DATABASE_URL="postgresql://guardian:hunter22@db:5432/guardian",
                  GUARDIAN_SECRET_KEY="a-secret-key-that-must-never-be-printed-0123")
    shown = run("settings", env=env)
    assert shown.returncode == 0
    assert "GUARDIAN_DATABASE_URL=postgresql://guardian:***@db:5432/guardian  (from the " \
           "environment" in shown.stdout
    assert "GUARDIAN_SECRET_KEY=(set)" in shown.stdout
    assert "hunter22" not in shown.stdout and "must-never" not in shown.stdout
    assert "GUARDIAN_SCORER=auto  (default)" in shown.stdout
