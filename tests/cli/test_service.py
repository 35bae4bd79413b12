"""`guardian serve` and `guardian worker`, run as a user runs them: real processes on real
databases (the other commands are tested in this process, tests/commands.py)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.commands import GUARDIAN, env_for, run
from tests.conftest import POLICIES, ROOT, Database, add_person


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = env_for(GUARDIAN_ENV="production",
               GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    refused = run("serve", env=env)
    assert refused.returncode == 2
    assert "GUARDIAN_SECRET_KEY" in refused.stderr
    assert not (tmp_path / "x.db").exists()




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
    env = env_for(GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'guardian.db'}",
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
    # The way to the review queue: an invitation for the first moderator (maria).
    assert re.search(rf"open http://127\.0\.0\.1:{port}/invitation/\S+ to set a password "
                     "for `maria`", stderr), stderr
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
    process = subprocess.Popen([*GUARDIAN, "worker"], env=env_for(database), cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while asyncio.run(stage(message_id)) != "notified" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert asyncio.run(stage(message_id)) == "notified"
    assert process.returncode == 0






def test_serve_with_an_inbox_delivers_a_real_notification_to_it(tmp_path: Path) -> None:
    """`make run`: an emergency pages someone on call, through apprise, into the local
    inbox the service prints, with its acknowledgement link."""
    port, inbox = _free_port(), _free_port()
    env = env_for(GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'guardian.db'}",
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
    env = env_for(GUARDIAN_ENV="production", GUARDIAN_SECRET_KEY="x" * 40,
                  GUARDIAN_PUBLIC_URL="https://guardian.ayuntamiento.example",
                  GUARDIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'g.db'}")
    result = run("serve", "--inbox", "8025", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "--inbox is for development" in result.stderr
