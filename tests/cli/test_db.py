"""`guardian db`: upgrade and current."""

from __future__ import annotations

from pathlib import Path

from tests.commands import env_for, run


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    env = env_for(GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}")
    behind = run("db", "current", env=env)
    assert behind.returncode == 1 and "current: none" in behind.stdout
    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0 and "is at revision" in upgraded.stdout
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("db", "current", env=env).returncode == 0


