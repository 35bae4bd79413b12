"""`guardian what-if`: the engine test's three days of traffic stored in the configured
database, a directory of changed files, and the difference printed side by side and as
JSON; broken files exit 1 with FILE:LINE and nothing replayed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from guardian.storage.db import create_engine
from tests.commands import env_for, run
from tests.conftest import POLICIES, Database
from tests.engine.test_whatif import LIGHTING, MARIA_HOURS, RAQUEL_CHANNEL, store

pytestmark = pytest.mark.slow
UNTIL = "2026-11-26T00:00:00+01:00"


def changed_files(directory: Path) -> Path:
    """The engine test's changes, as HR would keep them: two files in a directory."""
    directory.mkdir()
    staff = (POLICIES / "staff.yaml").read_text(encoding="utf-8")
    staff = staff.replace(RAQUEL_CHANNEL, RAQUEL_CHANNEL + '    quiet_hours: "22:00-08:00"\n')
    (directory / "staff.yaml").write_text(staff.replace(MARIA_HOURS, ""), encoding="utf-8")
    rotations = (POLICIES / "rotations.yaml").read_text(encoding="utf-8")
    (directory / "rotations.yaml").write_text(
        rotations.replace(LIGHTING, "      - members: [carmen, antonio]\n"), encoding="utf-8")
    return directory


def test_what_if_prints_the_difference(database: Database, tmp_path: Path) -> None:
    env = env_for(database)
    assert run("db", "upgrade", env=env).returncode == 0

    async def prepare() -> dict[str, int]:
        engine = create_engine(database.url)
        try:
            return await store(engine)
        finally:
            await engine.dispose()

    ids = asyncio.run(prepare())
    changes = changed_files(tmp_path / "changes")
    asked = ("what-if", "--policies", str(changes), "--days", "3", "--until", UNTIL)
    shown = run(*asked, env=env)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "Files replaced: rotations.yaml, staff.yaml; added: none." in out
    assert "Replayed 4 message(s) received 2026-11-23 00:00 to 2026-11-26 00:00" in out
    assert "1 acknowledgement(s), 1 override(s) in force; left out: 1 redacted" in out
    lines = out.splitlines()
    assert "* pages" not in out  # one page in each: the same total
    assert next(line for line in lines if "reached no one" in line).split()[-2:] == ["0", "1"]
    antonio = next(line for line in lines if "Antonio Molina" in line)
    assert antonio.startswith("* ") and "1 | 0" in antonio
    assert next(line for line in lines if "Elena Castro" in line).startswith("  ")
    police = lines.index(f"  message {ids['police']}, received 2026-11-24 23:10, police")
    assert lines[police + 1] == "    in force: Raquel Sánchez 2026-11-24 23:10 deliver"
    assert lines[police + 2] == "    changed : Pablo Jiménez 2026-11-25 08:00 digest"
    sala = lines.index(f"  message {ids['sala']}, received 2026-11-25 10:00, room_booking")
    assert lines[sala + 2] == "    changed : no one: held for the moderators"
    # The same as JSON.
    body = json.loads(run(*asked, "--json", env=env).stdout)
    people = {p["person"]: p for p in body["people"]}
    assert people["carmen"]["pages"] == {"old": 0, "new": 1}
    assert body["totals"]["unrouted"] == {"old": 0, "new": 1}
    assert [m["message"] for m in body["messages"]] == [
        str(ids[k]) for k in ("police", "cable", "sala")]


def test_broken_files_replay_nothing(tmp_path: Path) -> None:
    changes = tmp_path / "changes"
    changes.mkdir()
    (changes / "teams.yaml").write_text("teams:\n  - id: rooms\n    colour: blue\n")
    failed = run("what-if", "--policies", str(changes), env=env_for())
    assert failed.returncode == 1
    assert "teams.yaml:3: error: `colour` is not a known field" in failed.stderr
    assert "nothing was replayed" in failed.stderr
    # The policy in force itself, as "changes": nothing to replay, nothing read.
    env = env_for(GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    assert run("db", "upgrade", env=env).returncode == 0
    same = run("what-if", "--policies", str(POLICIES), "--json", env=env)
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["same_policy"] is True
