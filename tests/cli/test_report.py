"""`guardian report`: the wellbeing report of a week as a table, the API's JSON and the
page's CSV; a bad week named."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

from guardian.storage.db import create_engine
from tests.commands import env_for, run
from tests.conftest import Database, example_policy
from tests.wellbeing_week import WEEK_FILE, replay_week


def _seed(database: Database, tmp_path: Path) -> None:
    """A lamp that waited for Carmen's digest and a night page Antonio acknowledged."""
    lines = [line for line in WEEK_FILE.read_text(encoding="utf-8").splitlines()
             if '"lamp-tue-2300"' in line or "cable-wed-0300" in line]
    path = tmp_path / "week.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    async def replay() -> None:
        engine = create_engine(database.url)
        try:
            await replay_week(engine, example_policy(), path, extras=False)
        finally:
            await engine.dispose()

    asyncio.run(replay())


def test_report_prints_the_weeks_figures(database: Database, tmp_path: Path) -> None:
    _seed(database, tmp_path)
    env = env_for(database)
    shown = run("report", "--week", "2026-W48", env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == ("Wellbeing report, week 2026-W48: Monday 23/11/2026 to Sunday "
                        "29/11/2026 (Europe/Madrid)")
    carmen = next(line for line in lines if line.startswith("Carmen Ruiz"))
    assert carmen.split()[2:6] == ["1", "0", "0", "0"]  # kept, in quiet, night, acked
    antonio = next(line for line in lines if line.startswith("Antonio Molina"))
    assert antonio.split()[2:7] == ["0", "0", "1", "1", "12"]
    assert any("woke Antonio Molina 03:00; acknowledged by Antonio Molina after 12 min"
               in line for line in lines)
    assert "Storms: none" in lines

    as_json = json.loads(run("report", "--week", "2026-W48", "--format", "json",
                             env=env).stdout)
    assert (as_json["week"], as_json["complete"]) == ("2026-W48", True)
    assert as_json["town"]["kept_from_quiet_hours"] == 1

    as_csv = list(csv.reader(io.StringIO(run("report", "--week", "2026-W48", "--format",
                                             "csv", env=env).stdout)))
    assert as_csv[1][:5] == ["2026-W48", "town", "town", "Ayuntamiento de Ejemplo", "1"]

    bad = run("report", "--week", "2026-W54", env=env)
    assert bad.returncode == 2 and "--week" in bad.stderr and "no week 54" in bad.stderr
