"""Policy reload: on file change and on SIGHUP; a broken policy never replaces a good one."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from guardian.config.settings import Settings
from guardian.policy_files.store import PolicyStore
from guardian.web.app import init_app
from tests.conftest import POLICIES, AiohttpClient, Client, add_person, with_settings


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(POLICIES, directory)
    return directory


async def _health(client: Client) -> tuple[int, dict[str, Any]]:
    response = await client.get("/health")
    return response.status, (await response.json())["checks"]["policies"]


async def _until(client: Client, predicate: Any) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    for _ in range(100):
        _, checks = await _health(client)
        if predicate(checks):
            return checks
        await asyncio.sleep(0.05)
    return checks


async def test_changed_files_are_reloaded_and_a_broken_change_is_refused(
        aiohttp_client: AiohttpClient, settings: Settings, tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    client = await aiohttp_client(init_app(
        with_settings(settings, policies_dir=directory, policy_poll_seconds=0.05),
        run_worker=False))
    _, checks = await _health(client)
    assert checks["info"]["summary"]["staff"] == 8

    add_person(directory)
    checks = await _until(client, lambda c: c["info"]["summary"]["staff"] == 9)
    assert checks["info"]["summary"]["staff"] == 9

    (directory / "town.yaml").write_text("town:\n  name: X\n  timezone: Europe/Madird\n"
                                         "  languages: [es]\n")
    checks = await _until(client, lambda c: c["info"]["errors"])
    status, checks = await _health(client)
    assert status == 200 and checks["ok"] is True
    assert "stays in force" in checks["detail"]
    assert any("town.yaml:3" in e and "Europe/Madird" in e for e in checks["info"]["errors"])
    assert checks["info"]["summary"]["staff"] == 9  # the last good policy

    shutil.copy(POLICIES / "town.yaml", directory / "town.yaml")
    checks = await _until(client, lambda c: not c["info"]["errors"])
    assert checks["detail"].startswith("loaded at")


def test_the_store_tells_listeners_only_about_good_policies(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    store = PolicyStore(directory)
    seen: list[int] = []
    store.on_change(lambda policy: seen.append(len(policy.staff)))
    assert not store.reload_if_changed()  # nothing changed
    add_person(directory)
    assert store.reload_if_changed()
    (directory / "teams.yaml").write_text("teams: [unclosed\n")
    assert not store.reload()
    assert seen == [9]
    assert store.policy is not None and len(store.policy.staff) == 9
    assert store.rejected is not None and store.errors[0].file.endswith("teams.yaml")
