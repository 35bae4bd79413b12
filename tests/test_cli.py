"""The `guardian` command, run as a user runs it, on real databases: in this process
(click's runner) where a process adds nothing, as real processes for `serve` and `worker`."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.commands import Ran, invoke
from tests.conftest import POLICIES, ROOT, Database, add_person
from tests.receivers import closed_port

GUARDIAN = [sys.executable, "-m", "guardian"]


def _env(database: Database | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARDIAN_")}
    env.update({"GUARDIAN_ENV": "development", "GUARDIAN_POLICIES_DIR": str(POLICIES),
                # Never the example policy's real-looking hosts: a closed loopback port.
                "GUARDIAN_DELIVER_TO": f"json://127.0.0.1:{closed_port()}/{{person}}"})
    if database is not None:
        env["GUARDIAN_DATABASE_URL"] = database.url
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str], cwd: Path = ROOT) -> Ran:
    """`guardian ARGS` in this process."""
    return invoke(*args, env=env, cwd=cwd)


def test_tokens_create_list_and_revoke(database: Database) -> None:
    env = _env(database)
    created = run("tokens", "create", "--role", "ingest", "--name", "mastodon-feed", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert created.stdout == token + "\n" and token.startswith("gdn_")  # the token alone
    listed = run("tokens", "list", "--json", env=env)
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"]) for r in rows] == [("mastodon-feed", "ingest")]
    assert token not in listed.stdout
    assert run("tokens", "revoke", "mastodon-feed", env=env).returncode == 0
    assert json.loads(run("tokens", "list", "--json", env=env).stdout) == []
    again = run("tokens", "revoke", "mastodon-feed", env=env)
    assert again.returncode == 1 and "no live token" in again.stderr
    bad_role = run("tokens", "create", "--role", "boss", "--name", "x", env=env)
    assert bad_role.returncode == 2 and "boss" in bad_role.stderr


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    env = _env(GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}")
    behind = run("db", "current", env=env)
    assert behind.returncode == 1 and "current: none" in behind.stdout
    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0 and "is at revision" in upgraded.stdout
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("db", "current", env=env).returncode == 0


def test_policies_check_exit_codes(tmp_path: Path) -> None:
    good = run("policies", "check", str(POLICIES), env=_env())
    assert good.returncode == 0 and "valid" in good.stdout
    (tmp_path / "town.yaml").write_text("town:\n  name: X\n  timezone: Mars/Base\n"
                                        "  languages: [es]\n")
    bad = run("policies", "check", str(tmp_path), env=_env())
    assert bad.returncode == 1
    assert "town.yaml:3" in bad.stderr and "Mars/Base" in bad.stderr


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = _env(GUARDIAN_ENV="production",
               GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    refused = run("serve", env=env)
    assert refused.returncode == 2
    assert "GUARDIAN_SECRET_KEY" in refused.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("command", [[], ["serve"], ["worker"], ["db"], ["db", "upgrade"],
                                     ["oncall"], ["shifts"], ["score"], ["eval"], ["train-lite"],
                                     ["models", "pull"],
                                     ["tokens"], ["tokens", "create"], ["policies", "check"],
                                     ["settings"]])
def test_every_command_explains_itself(command: list[str]) -> None:
    shown = run(*command, "--help", env=_env())
    assert shown.returncode == 0
    assert "Usage: python -m guardian" in shown.stdout
    assert len(shown.stdout.splitlines()) > 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_in_development_migrates_serves_and_says_how_to_start(tmp_path: Path) -> None:
    """What `make run` does, on a fresh directory: no database, no token."""
    port = _free_port()
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    env = _env(GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'guardian.db'}",
               GUARDIAN_POLICIES_DIR=str(policies), GUARDIAN_POLICY_POLL_SECONDS="3600")
    process = subprocess.Popen([*GUARDIAN, "serve", "--port", str(port)], env=env,
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        status = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200, "guardian serve did not answer /health"
        token = (tmp_path / "var" / "dev-admin.token").read_text().strip()
        assert (tmp_path / "var" / "dev-admin.token").stat().st_mode & 0o077 == 0
        body = json.dumps({"source": "twitter", "external_id": "1",
                           "author": {"handle": "@vecina"}, "text": "Hola",
                           "created_at": "2026-11-25T22:48:00+01:00"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/messages", data=body, method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202

        # HR edits the policy and signals the service: it reloads without a restart.
        add_person(policies)
        process.send_signal(signal.SIGHUP)
        staff = 0
        for _ in range(100):
            _, health = _get(f"http://127.0.0.1:{port}/health")
            staff = health["checks"]["policies"]["info"]["summary"]["staff"]  # type: ignore[index]
            if staff == 9:
                break
            time.sleep(0.05)
        assert staff == 9
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "curl -s -X POST" in stderr
    assert token not in stderr  # the hint points at the file, never prints the token
    assert process.returncode == 0


def test_worker_command_processes_the_queue(database: Database, tmp_path: Path) -> None:
    from guardian.schemas import MessageIn
    from guardian.storage.db import create_engine
    from guardian.storage.messages import get_message, store_messages
    from tests.conftest import message

    async def store() -> int:
        engine = create_engine(database.url)
        async with engine.begin() as conn:
            [stored] = await store_messages(conn=conn,
                                            messages=[MessageIn.model_validate(message())])
        await engine.dispose()
        return stored.id

    async def stage(message_id: int) -> str:
        engine = create_engine(database.url)
        found = await get_message(engine=engine, message_id=message_id)
        await engine.dispose()
        assert found is not None
        return found[0].stage

    message_id = asyncio.run(store())
    process = subprocess.Popen([*GUARDIAN, "worker"], env=_env(database), cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while asyncio.run(stage(message_id)) != "notified" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert asyncio.run(stage(message_id)) == "notified"
    assert process.returncode == 0


def test_oncall_and_shifts_answer_from_the_policy_and_the_overrides(
        database: Database) -> None:
    env = _env(database)
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


def test_explain_tells_why_a_message_went_where_it_went(database: Database) -> None:
    from guardian.storage.db import create_engine
    from guardian.storage.messages import messages_table
    from tests.conftest import message as payload

    env = _env(database)
    assert run("db", "upgrade", env=env).returncode == 0

    async def prepare() -> None:
        from guardian.schemas import MessageIn
        from guardian.storage.messages import store_messages

        engine = create_engine(database.url)
        async with engine.begin() as conn:
            await store_messages(conn=conn, messages=[MessageIn.model_validate(payload())])
        await engine.dispose()

    asyncio.run(prepare())
    process = subprocess.Popen([*GUARDIAN, "worker"], env=env, cwd=ROOT)

    async def decided() -> bool:
        from sqlalchemy import select

        engine = create_engine(database.url)
        async with engine.connect() as conn:
            value = (await conn.execute(select(messages_table.c.decision))).scalar_one()
        await engine.dispose()
        return value is not None

    try:
        deadline = time.monotonic() + 30
        while not asyncio.run(decided()) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    shown = run("explain", "1", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "scored none by lite" in shown.stdout
    assert "category street_lighting" in shown.stdout or "street_lighting" in shown.stdout
    assert "→" in shown.stdout
    assert run("explain", "99", env=env).returncode == 1


def test_serve_with_an_inbox_delivers_a_real_notification_to_it(tmp_path: Path) -> None:
    """`make run`: an emergency pages someone on call, through apprise, into the local
    inbox the service prints, with its acknowledgement link."""
    port, inbox = _free_port(), _free_port()
    env = _env(GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'guardian.db'}",
               GUARDIAN_SCORER="lite", GUARDIAN_POLICY_POLL_SECONDS="3600",
               GUARDIAN_DELIVER_TO="")  # --inbox points it at the inbox
    process = subprocess.Popen([*GUARDIAN, "serve", "--port", str(port), "--inbox", str(inbox)],
                               env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                _get(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                time.sleep(0.1)
        token = (tmp_path / "var" / "dev-admin.token").read_text().strip()
        body = json.dumps({"source": "twitter", "external_id": "1",
                           "author": {"handle": "@vecina"},
                           "text": "Hay un cable caído en la calle Mayor, saltan chispas",
                           "created_at": "2026-11-25T03:00:00+01:00"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/messages", data=body, method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
        sent: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not sent:
            _, log = _get(f"http://127.0.0.1:{port}/api/v1/notifications?kind=page", token)
            sent = [n for n in log["notifications"]  # type: ignore[attr-defined]
                    if n["status"] == "sent"]
            time.sleep(0.2)
        assert sent, "no page was delivered to the inbox"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert f"📨 to {sent[0]['recipient']}" in stderr
    assert f"http://127.0.0.1:{port}/ack/" in stderr and "cable caído" in stderr


def test_the_inbox_is_refused_in_production(tmp_path: Path) -> None:
    env = _env(GUARDIAN_ENV="production", GUARDIAN_SECRET_KEY="x" * 40,
               GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'g.db'}")
    result = run("serve", "--inbox", "8025", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "--inbox is for development" in result.stderr
