"""`guardian policies check`: exit codes, problems with file and line."""

from __future__ import annotations

from pathlib import Path

from tests.commands import env_for, run
from tests.conftest import POLICIES


def test_policies_check_exit_codes(tmp_path: Path) -> None:
    good = run("policies", "check", str(POLICIES), env=env_for())
    assert good.returncode == 0 and "valid" in good.stdout
    (tmp_path / "town.yaml").write_text("town:\n  name: X\n  timezone: Mars/Base\n"
                                        "  languages: [es]\n")
    bad = run("policies", "check", str(tmp_path), env=env_for())
    assert bad.returncode == 1
    assert "town.yaml:3" in bad.stderr and "Mars/Base" in bad.stderr


