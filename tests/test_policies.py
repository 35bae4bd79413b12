"""Policy files: the example town loads; every error at once, with file and line."""

from __future__ import annotations

from pathlib import Path

from guardian.policy.loader import load_policy
from tests.conftest import POLICIES

TOWN = "town:\n  name: Test\n  timezone: Europe/Madrid\n  languages: [es]\n"


def _write(directory: Path, **files: str) -> None:
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text)


def test_the_example_town_is_valid() -> None:
    result = load_policy(POLICIES)
    assert result.errors == [], [str(p) for p in result.errors]
    assert result.policy is not None
    teams = {t.id: t for t in result.policy.teams}
    assert {"lighting", "cleaning", "rooms", "health", "police"} <= set(teams)
    categories = {c.id: c for c in result.policy.categories}
    assert "farola" in categories["street_lighting"].keywords["es"]
    assert "streetlight" in categories["street_lighting"].keywords["en"]


def test_every_error_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=(
        "staff:\n"
        "  - id: ana\n"
        "    name: Ana\n"
        "    timezone: Europe/Madird\n"      # line 4: misspelt zone
        "  - id: luis\n"
        "    name: Luis\n"
        "    timezone: Europe/Madrid\n"
        "    colour: blue\n"                 # line 8: unknown field
    ), teams=(
        "teams:\n"
        "  - id: lighting\n"
        "    name: Lighting\n"
        "    members: [ana, nobody]\n"
    ))
    result = load_policy(tmp_path)
    assert result.policy is None
    messages = [str(p) for p in result.errors]
    assert any(m.startswith(f"{tmp_path}/staff.yaml:4: error:") and "Europe/Madird" in m
               for m in messages), messages
    assert any(m.startswith(f"{tmp_path}/staff.yaml:8: error:") and "`colour`" in m
               for m in messages), messages
    assert any(m.startswith(f"{tmp_path}/teams.yaml:2: error:") and "`nobody`" in m
               for m in messages), messages
    # `ana` is declared in staff.yaml even though that file has errors: no false alarm.
    assert len(messages) == 3


def test_cross_file_checks(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=(
        "staff:\n"
        "  - {id: ana, name: Ana, timezone: Europe/Madrid, handles: {twitter: '@ana'}}\n"
        "  - {id: eva, name: Eva, timezone: Europe/Madrid, handles: {twitter: '@ANA'}}\n"
    ), teams=(
        "teams:\n"
        "  - {id: lighting, name: L, members: [ana, nobody], lead: eva, categories: [lamps]}\n"
        "categories:\n"
        "  - {id: orphan}\n"
    ))
    result = load_policy(tmp_path)
    errors = [str(p) for p in result.errors]
    assert any("staff.yaml:3" in e and "@ANA" in e and "`ana`" in e for e in errors), errors
    assert any("teams.yaml:2" in e and "`nobody`" in e for e in errors), errors
    assert any("lead `eva`" in e for e in errors), errors
    assert any("`lamps`" in e for e in errors), errors
    warnings = [str(p) for p in result.warnings]
    assert any("teams.yaml:4" in w and "`orphan`" in w for w in warnings), warnings


def test_broken_yaml_and_empty_directories_are_explained(tmp_path: Path) -> None:
    assert "no *.yaml" in str(load_policy(tmp_path).errors[0])
    _write(tmp_path, town="town:\n  name: [unclosed\n")
    [problem] = load_policy(tmp_path).errors
    assert problem.file.endswith("town.yaml") and problem.line == 3
    assert "not valid YAML" in problem.message
    missing = load_policy(tmp_path / "nowhere")
    assert "is not a directory" in str(missing.errors[0])
