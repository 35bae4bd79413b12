"""`guardian oncall` and `guardian shifts`: from the policy and the overrides."""

from __future__ import annotations

import json

from tests.commands import env_for, run
from tests.conftest import Database


def test_oncall_and_shifts_answer_from_the_policy_and_the_overrides(
        database: Database) -> None:
    env = env_for(database)
    shown = run("oncall", "--team", "police", "--at", "2026-11-25T10:00+01:00", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("police: on duty Pablo Jiménez [rotation:police-shifts")
    night = json.loads(run("oncall", "--team", "rooms", "--at", "2026-11-25T23:00+01:00",
                           "--json", env=env).stdout)
    assert night["teams"][0]["gap"] is True
    listed = json.loads(run("shifts", "--team", "police", "--from", "2026-11-25T08:00+01:00",
                            "--to", "2026-11-27T08:00+01:00", "--json", env=env).stdout)
    assert [s["people"][0]["id"] for s in listed["shifts"]] == ["pablo", "raquel"]
    naive = run("oncall", "--at", "2026-11-25T10:00", env=env)
    assert naive.returncode == 2 and "time zone" in naive.stderr
    unknown = run("shifts", "--team", "gardening", "--from", "2026-11-25T00:00Z", "--to",
                  "2026-11-26T00:00Z", env=env)
    assert unknown.returncode == 2 and "gardening" in unknown.stderr


