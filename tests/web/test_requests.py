"""A citizen's request's lifecycle through the API (both databases): staff of its team (or
told about it) move it from received to resolved, HR any; each move is allowed only from
where the request is, audited, timed, and answered to the citizen where the policy says."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.audit import audit_table
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.tokens import create_token
from guardian.types import NotificationKind, Role
from tests.conftest import POLICIES, Client, bearer, message, with_settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The example policies with replies on and the town's Mastodon account connected."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    replies = policies / "replies.yaml"
    replies.write_text(replies.read_text(encoding="utf-8").replace(
        "enabled: false", "enabled: true"), encoding="utf-8")
    (policies / "connectors.yaml").write_text(
        "connectors:\n  - id: mastodon-town\n    kind: mastodon\n"
        "    url: https://ejemplo.social\n    token: \"{env:MASTODON_TOKEN}\"\n",
        encoding="utf-8")
    return with_settings(settings, policies_dir=policies)


def _decision(kinds: tuple[str, ...] = ("deliver_now",), level: str = "none",
              team: str | None = "lighting") -> dict[str, Any]:
    at = utcnow().isoformat()
    return {"version": 1, "team": team, "category": "street_lighting", "level": level,
            "outcomes": [{"kind": k, "at": at} for k in kinds]}


async def _decided(engine: AsyncEngine, external_id: str, decision: dict[str, Any],
                   source: str = "mastodon") -> int:
    body = message(external_id, source=source, author={"handle": "@vecina@ejemplo.social"},
                   text="La farola de la calle Mayor está apagada desde ayer")
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(body)])
        await conn.execute(update(messages_table).where(messages_table.c.id == stored.id)
                           .values(decision=decision, stage="notified",
                                   harassment_level=decision["level"]))
    return stored.id


async def _staff(engine: AsyncEngine, who: str) -> dict[str, str]:
    _, token = await create_token(engine=engine, name=f"{who}-phone", role=Role.staff,
                                  staff_id=who)
    return bearer(token)


async def _move(client: Client, message_id: int, headers: dict[str, str], expect: int,
                **body: Any) -> dict[str, Any]:
    answer = await client.post(f"/api/v1/messages/{message_id}/status", json=body,
                               headers=headers)
    found = dict(await answer.json())
    assert answer.status == expect, found
    return found


async def test_staff_of_the_team_move_a_request_to_resolved(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    lamp = await _decided(engine, "1", _decision())
    antonio = await _staff(engine, "antonio")  # lighting
    got = await client.get(f"/api/v1/messages/{lamp}/status", headers=antonio)
    assert (await got.json())["status"] == "received"
    for status in ("acknowledged", "in_progress", "resolved"):
        moved = await _move(client, lamp, antonio, 200, status=status, reply=False)
        assert moved["status"] == status and moved["changed_by"] == "staff:antonio"
    assert moved["acknowledged_at"] is not None and moved["resolved_at"] is not None
    # The lamp went out again: reopened; the first resolution keeps its time.
    reopened = await _move(client, lamp, antonio, 200, status="in_progress", reply=False)
    assert reopened["resolved_at"] == moved["resolved_at"]
    async with engine.connect() as conn:
        actions = (await conn.execute(select(audit_table.c.action, audit_table.c.actor)
                                      .where(audit_table.c.action == "request.move"))).all()
    assert [a.actor for a in actions] == ["staff:antonio"] * 4
    metrics = await (await client.get("/metrics", headers=bearer(tokens[Role.admin]))).text()
    assert 'guardian_request_resolve_seconds_count{team="lighting"}' in metrics


async def test_only_allowed_moves_and_closing_needs_a_reason(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    lamp = await _decided(engine, "1", _decision())
    hr = bearer(tokens[Role.hr])
    await _move(client, lamp, hr, 200, status="resolved", reply=False)
    refused = await _move(client, lamp, hr, 409, status="acknowledged")
    assert "a resolved request can become: in_progress" in refused["error"]["message"]
    again = await _move(client, lamp, hr, 409, status="resolved")
    assert "resolved already" in again["error"]["message"]
    other = await _decided(engine, "2", _decision())
    unexplained = await _move(client, other, hr, 422, status="closed")
    assert unexplained["error"]["errors"][0]["field"] == "reason"
    closed = await _move(client, other, hr, 200, status="closed",
                         reason="Duplicada de otra incidencia")
    assert closed["reason"] == "Duplicada de otra incidencia"
    assert (await _move(client, other, hr, 409, status="in_progress"))["error"]
    bad = await _move(client, other, hr, 422, status="done")
    assert bad["error"]["errors"][0]["field"] == "status"


async def test_staff_see_only_their_teams_requests_or_what_they_were_told(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    lamp = await _decided(engine, "1", _decision())
    pablo = bearer(tokens[Role.staff])  # police: not his team
    hidden = await client.get(f"/api/v1/messages/{lamp}/status", headers=pablo)
    assert hidden.status == 404
    await _move(client, lamp, pablo, 404, status="acknowledged")
    async with engine.begin() as conn:
        await outbox.enqueue(conn=conn, recipient="pablo", kind=NotificationKind.deliver,
                             body="b", due_at=utcnow(), idempotency_key=f"d:{lamp}:pablo",
                             message_id=lamp)
    assert (await _move(client, lamp, pablo, 200, status="acknowledged",
                        reply=False))["status"] == "acknowledged"


async def test_a_held_or_abusive_message_is_no_request(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    held = await _decided(engine, "1", _decision(("hold_for_review",), level="abusive"))
    unrouted = await _decided(engine, "2", _decision(team=None))
    for ident in (held, unrouted, 999999):
        answer = await client.get(f"/api/v1/messages/{ident}/status",
                                  headers=bearer(tokens[Role.hr]))
        assert answer.status == 404


async def test_a_move_answers_the_citizen_where_the_policy_says(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    lamp = await _decided(engine, "1", _decision())
    shielded = await _decided(engine, "2", _decision(("shield",), level="abusive"))
    hr = bearer(tokens[Role.hr])
    # No template for `acknowledged`: nothing queued; `resolved` has one.
    assert not (await _move(client, lamp, hr, 200, status="acknowledged"))["reply_queued"]
    resolved = await _move(client, lamp, hr, 200, status="resolved")
    assert resolved["reply_queued"]
    # A shielded (abusive) message is a request staff handle, never answered in public.
    assert not (await _move(client, shielded, hr, 200, status="resolved"))["reply_queued"]
    c = outbox.notifications_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(c.message_id, c.body).where(
            c.kind == NotificationKind.citizen_reply.value))).all()
    assert [(r.message_id, r.body) for r in rows] == [(lamp, "Arreglado, gracias por avisar.")]
    no_reply = await _decided(engine, "3", _decision())
    assert not (await _move(client, no_reply, hr, 200, status="resolved",
                            reply=False))["reply_queued"]
    assert dt.datetime.fromisoformat(resolved["changed_at"]) <= utcnow()


async def test_staff_move_a_request_from_the_link_in_their_notification(
        client: Client, engine: AsyncEngine, settings: Settings) -> None:
    """The message page every notification links to shows where the request is and a
    button per allowed move; the link is the person's (no token, no sign-in)."""
    from guardian.acks.links import flag_token

    lamp = await _decided(engine, "1", _decision())
    link = f"/flag/{flag_token(settings.secret_key, lamp, 'antonio')}"
    page = await (await client.get(link)).text()
    assert "Estado de la petición: recibida" in page
    assert 'value="acknowledged"' in page and 'value="resolved"' in page
    done = await client.post(f"{link}/status", data={"status": "in_progress"})
    assert done.status == 200 and "en curso" in await done.text()
    page = await (await client.get(link)).text()
    assert "Estado de la petición: en curso" in page and 'value="acknowledged"' not in page
    unexplained = await client.post(f"{link}/status", data={"status": "closed"})
    assert unexplained.status == 422
    wrong = await client.post(f"{link}/status", data={"status": "acknowledged"})
    assert wrong.status == 409
    assert (await client.post(f"{link}/status", data={"status": "done"})).status == 422
    assert (await client.post("/flag/forged/status", data={"status": "resolved"})).status == 404
    async with engine.connect() as conn:
        actors = (await conn.execute(select(audit_table.c.actor).where(
            audit_table.c.action == "request.move"))).scalars().all()
    assert actors == ["staff:antonio"]
