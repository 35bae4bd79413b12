"""The wellbeing report in the API: JSON and CSV of a week, the last week that is over by
default, a bad week a 400 naming the parameter, and who may read it (HR, `report` tokens:
the mayor's, admins; not staff, moderators or feeds)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.types import Role
from guardian.web.app import init_app
from tests.conftest import AiohttpClient, Client, bearer, example_policy
from tests.wellbeing_week import WEEK_FILE, madrid, replay_week

REPORT = "/api/v1/report/wellbeing"


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    """The app on a clock stopped on Wednesday 2 December 2026: the last week over is 48."""
    fixed = madrid(2, 10, month=12)
    return await aiohttp_client(init_app(settings, run_worker=False, clock=lambda: fixed))


async def _seed(engine: AsyncEngine, tmp_path: Path) -> None:
    """A lamp that waited for Carmen's digest and a night page Antonio acknowledged."""
    lines = [line for line in WEEK_FILE.read_text(encoding="utf-8").splitlines()
             if '"lamp-tue-2300"' in line or "cable-wed-0300" in line]
    path = tmp_path / "week.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    await replay_week(engine, example_policy(), path, extras=False)


async def test_the_weeks_figures_as_json_and_csv(client: Client, engine: AsyncEngine,
                                                  tokens: dict[Role, str],
                                                  tmp_path: Path) -> None:
    await _seed(engine, tmp_path)
    response = await client.get(f"{REPORT}?week=2026-W48", headers=bearer(tokens[Role.hr]))
    assert response.status == 200
    body = await response.json()
    assert (body["week"], body["timezone"], body["complete"]) == (
        "2026-W48", "Europe/Madrid", True)
    assert body["start"] == "2026-11-22T23:00:00+00:00"
    assert (body["town"]["kept_from_quiet_hours"], body["town"]["night_pages"],
            body["town"]["night_pages_acknowledged"]) == (1, 1, 1)
    carmen = next(p for p in body["people"] if p["id"] == "carmen")
    assert (carmen["name"], carmen["kept_from_quiet_hours"], carmen["teams"]) == (
        "Carmen Ruiz", 1, ["lighting"])
    [page] = body["night_pages"]
    assert (page["acknowledged_by"], page["minutes_to_acknowledge"]) == ("antonio", 12.0)
    assert [t["id"] for t in body["teams"]][:2] == ["lighting", "cleaning"]

    # The default: the last week that is over, on the town's clock (the same).
    default = await client.get(REPORT, headers=bearer(tokens[Role.report]))
    assert (await default.json())["week"] == "2026-W48"
    # A week not over yet says so.
    current = await (await client.get(f"{REPORT}?week=2026-W49",
                                      headers=bearer(tokens[Role.hr]))).json()
    assert current["complete"] is False and current["town"]["night_pages"] == 0

    exported = await client.get(f"{REPORT}.csv?week=2026-W48",
                                headers=bearer(tokens[Role.report]))
    assert exported.status == 200
    assert exported.content_type == "text/csv" and exported.charset == "utf-8"
    assert exported.headers["Content-Disposition"] == (
        'attachment; filename="wellbeing-2026-W48.csv"')
    lines = list(csv.reader(io.StringIO(await exported.text())))
    assert lines[0][:5] == ["week", "scope", "id", "name", "kept_from_quiet_hours"]
    assert lines[1][:5] == ["2026-W48", "town", "town", "Ayuntamiento de Ejemplo", "1"]


@pytest.mark.parametrize("path", [REPORT, f"{REPORT}.csv"])
@pytest.mark.parametrize(("week", "says"), [
    ("2026-W60", "2026 has no week 60"), ("49", "not an ISO week"),
    ("1800-W01", "outside the years")])
async def test_a_bad_week_is_a_400_naming_it(client: Client, tokens: dict[Role, str],
                                              path: str, week: str, says: str) -> None:
    response = await client.get(path, params={"week": week}, headers=bearer(tokens[Role.hr]))
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["message"].startswith("`week`: ") and says in error["message"]
    assert [e["field"] for e in error["errors"]] == ["week"]


async def test_hr_and_report_tokens_read_it_staff_do_not(client: Client,
                                                          tokens: dict[Role, str]) -> None:
    for path in (REPORT, f"{REPORT}.csv"):
        for role, token in tokens.items():
            status = (await client.get(f"{path}?week=2026-W48", headers=bearer(token))).status
            assert status == (200 if role in (Role.hr, Role.report, Role.admin) else 403), (
                path, role)
    # A report token opens nothing else of HR's.
    for path in ("/api/v1/audit", "/api/v1/overrides", "/api/v1/notifications"):
        assert (await client.get(path, headers=bearer(tokens[Role.report]))).status == 403
