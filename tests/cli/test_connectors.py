"""`guardian connectors status | check | backfill` against local fakes of the networks."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from guardian.storage.connectors import connector_states
from guardian.storage.db import create_engine
from tests.commands import Ran, env_for, run
from tests.conftest import POLICIES, Database
from tests.fakes.telegram import FakeTelegram
from tests.fakes.x import FakeX


def _policies(tmp_path: Path, connectors: str) -> Path:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "connectors.yaml").write_text(connectors, encoding="utf-8")
    return policies


async def _run(*args: str, env: dict[str, str]) -> Ran:
    # In a thread: the command runs its own event loop while this one serves the fakes.
    return await asyncio.to_thread(run, *args, env=env)


async def test_check_tries_each_network_and_says_what_is_wrong(
        database: Database, tmp_path: Path) -> None:
    x, telegram = await FakeX().start(), await FakeTelegram().start()
    try:
        policies = _policies(tmp_path, f"""\
connectors:
  - id: x-town
    kind: x
    url: {x.api}
    account: "{x.user_id}"
    token: "{{env:X_TOKEN}}"
  - id: tg
    kind: telegram
    url: {telegram.api}
    token: "{{env:TG_TOKEN}}"
  - id: forms
    kind: webhook
    secret: "{{env:FORMS_SECRET}}"
  - id: mastodon-town
    kind: mastodon
    url: https://ejemplo.social
    token: "{{env:MASTODON_TOKEN}}"
""")
        env = env_for(database, GUARDIAN_POLICIES_DIR=str(policies), X_TOKEN=x.bearer_token,
                      TG_TOKEN="999:wrong-token", FORMS_SECRET="s3cret-forms",
                      GUARDIAN_PUBLIC_URL="https://guardian.ejemplo.es")
        ran = await _run("connectors", "check", env=env)
        lines = {line.split()[0]: line for line in ran.stdout.splitlines()}
        assert ran.returncode == 1, ran
        assert "OK" in lines["x-town"] and "credentials accepted" in lines["x-town"]
        assert "FAILED" in lines["tg"] and "999:wrong-token" not in ran.stdout
        assert "https://guardian.ejemplo.es/hooks/forms" in lines["forms"]
        assert "FAILED" in lines["mastodon-town"] and "MASTODON_TOKEN" in lines["mastodon-town"]
        assert x.requests, "the check read the network once"
        one = await _run("connectors", "check", "x-town", env=env)
        assert one.returncode == 0 and one.stdout.startswith("x-town")
        unknown = await _run("connectors", "check", "nadie", env=env)
        assert unknown.returncode == 2 and "no connector `nadie`" in unknown.stderr
    finally:
        await x.close()
        await telegram.close()


def test_backfill_moves_the_cursor_back_and_status_shows_it(database: Database,
                                                            tmp_path: Path) -> None:
    policies = _policies(tmp_path, """\
connectors:
  - id: mastodon-town
    kind: mastodon
    url: https://ejemplo.social
    token: "{env:MASTODON_TOKEN}"
  - id: tg
    kind: telegram
    token: "{env:TG_TOKEN}"
""")
    env = env_for(database, GUARDIAN_POLICIES_DIR=str(policies), MASTODON_TOKEN="t")
    ran = run("connectors", "backfill", "mastodon-town", "--since",
              "2026-12-05T22:00:00+01:00", env=env)
    assert ran.returncode == 0, ran

    async def cursors() -> dict[str, str | None]:
        engine = create_engine(database.url)
        try:
            return {s.name: s.cursor for s in await connector_states(engine=engine)}
        finally:
            await engine.dispose()

    cursor = asyncio.run(cursors())["mastodon-town"]
    # Mastodon's ids are a sequence: the connector walks back to the instant itself.
    assert cursor == "since:2026-12-05T21:00:00+00:00"
    refused = run("connectors", "backfill", "tg", "--since", "2026-12-05T22:00:00Z", env=env)
    assert refused.returncode == 2 and "no way back" in refused.stderr
    naive = run("connectors", "backfill", "mastodon-town", "--since", "2026-12-05T22:00",
                env=env)
    assert naive.returncode == 2 and "time zone" in naive.stderr
    status = run("connectors", "status", "--json", env=env)
    report = {c["id"]: c for c in json.loads(status.stdout)}
    assert report["mastodon-town"]["state"] == "new"
    assert report["tg"]["state"] == "missing secrets" and report["tg"]["missing"] == ["TG_TOKEN"]
    text = run("connectors", "status", env=env).stdout
    assert "missing: TG_TOKEN" in text and "mastodon-town" in text
