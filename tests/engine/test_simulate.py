"""`guardian simulate` on the replay file shipped in docs/: each case of the example town."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.commands import env_for, run
from tests.conftest import ROOT

REPLAY = ROOT / "docs" / "replay-town.jsonl"


def _events() -> list[dict[str, Any]]:
    shown = run("simulate", "--messages", str(REPLAY), "--json", env=env_for())
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines()]


def _of(events: list[dict[str, Any]], message: str) -> list[tuple[str, str, list[str]]]:
    return [(e["kind"], e["at"], e["people"]) for e in events if e["message"] == message]


def test_the_replay_shows_each_case_of_the_example_town() -> None:
    events = _events()
    # A lamp reported at 22:48 waits for the lighting team's morning digest.
    lamp = _of(events, "lamp-2248")
    assert ("digest", "2026-11-26T06:30:00+00:00", ["carmen"]) in lamp
    assert not any(kind in ("notification", "page") for kind, *_ in lamp)
    # A fallen power line at 03:00 pages the electrician on call, escalates after the
    # delay to the team lead (asleep, but the chain names her), and stops when
    # acknowledged.
    cable = [(kind, at, people) for kind, at, people in _of(events, "cable-0300")
             if kind != "decision"]
    assert cable == [("page", "2026-11-26T02:00:00+00:00", ["antonio"]),
                     ("escalation", "2026-11-26T02:15:00+00:00", ["carmen"]),
                     ("acknowledged", "2026-11-26T02:20:00+00:00", [])]
    # An insult that also reports a problem: staff get the masked request, moderators
    # the original.
    shield = [e for e in events if e["message"] == "shield-1000"]
    assert any(e["kind"] == "notification" and "(masked)" in e["detail"] for e in shield)
    assert any(e["kind"] == "review" and e["people"] == ["maria"] for e in shield)
    # Twenty insults to one employee in ten minutes: caught at the third author; one storm
    # notice each to the moderators, HR and the employee, who never sees the originals.
    storm = [e for e in events if e["message"].startswith("storm-")]
    notices = [e for e in storm if "storm_notice" in e["detail"]]
    assert sorted(p for e in notices for p in e["people"]) == ["antonio", "lucia", "maria"]
    assert {e["message"] for e in notices} == {"storm-03"}
    [started] = [e for e in storm if e["kind"] == "storm"]
    assert started["message"] == "storm-03"
    assert "time to shield 1 min 00 s" in started["detail"]
    assert len({e["message"] for e in notices}) == 1
    assert not any("antonio" in e["people"] and "(original)" in e["detail"] for e in storm)
    # Abuse with nothing to act on: the moderators only; María gets a count, no text.
    abuse = _of(events, "abuse-0930")
    assert [k for k, *_ in abuse if k in ("notification", "page")] == []
    [digest] = [e for e in events if e["kind"] == "digest" and "abuse-0930" in e["message"]]
    assert digest["people"] == ["maria"] and "held by the moderators" in digest["detail"]
    assert "retienen los moderadores" in digest["body"] and "inútil" not in digest["body"]
    # Past Carmen's hourly cap, the seventh lamp waits for her digest; the emergency after
    # it reaches her at once all the same.
    assert ("notification", "2026-11-26T11:10:00+00:00", ["carmen"]) in _of(events,
                                                                            "cable-1210")
    assert not any(k == "notification" and p == ["carmen"]
                   for k, _, p in _of(events, "lamp-1206"))
    # A threat escalated to the police by a moderator pages their on-call officer.
    threat = _of(events, "threat-1300")
    assert ("escalated", "2026-11-26T12:20:00+00:00", []) in threat
    assert ("page", "2026-11-26T12:20:00+00:00", ["raquel"]) in threat
    # HR's override tells both people (never its reason), and warns of three on-call
    # weeks running.
    told = [(e["people"], e["detail"]) for e in events if "schedule" in e["detail"]]
    assert told == [(["carmen"], "schedule (override_replacing)"),
                    (["antonio"], "schedule (override_replaced)")]
    assert not any("cover" in e["body"] for e in events if "schedule" in e["detail"])
    [warning] = [e for e in events if e["kind"] == "warning"]
    assert "carmen is on call 3 weeks in a row" in warning["detail"]
    # Every delivery carries what its recipient reads.
    assert all(e["body"] for e in events if e["kind"] in ("notification", "page", "digest"))
    # A mute applies from when it is given: the author's earlier message was delivered.
    assert [k for k, *_ in _of(events, "pesado-1140") if k == "notification"]
    # A muted author's message is dropped, and counted as such.
    assert [(e["kind"], e["detail"]) for e in events if e["message"] == "muted-1200"
            and e["kind"] == "drop"] == [("drop", "muted")]


def test_a_bad_replay_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": "twitter", "external_id": "1", "author": {"handle": "@a"}, '
                   '"text": "hola", "created_at": "2026-11-25T10:00:00Z"}\n')
    shown = run("simulate", "--messages", str(bad), env=env_for())
    assert shown.returncode == 1 and "line 1" in shown.stderr and "received_at" in shown.stderr
