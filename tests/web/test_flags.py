"""Staff say "this was abusive": through the signed link every notification carries and
through the API. A flag puts the message in the moderators' queue (reason `flagged`) and
nothing more: the author is struck only when a moderator confirms."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import ack_token, flag_token, read_flag_token
from guardian.review.queue import review_table
from guardian.review.sanctions import author_status
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.audit import audit_table
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.models import Notification
from guardian.storage.tokens import create_token
from guardian.types import NotificationStatus, Role
from guardian.web.keys import settings_key
from tests.acks.test_links import DAY, aged_flag_token
from tests.conftest import Client, bearer, message

RAW = "Eres un imbécil, la farola sigue rota"
MASKED = "Eres un [insulto], la farola sigue rota"
DECISION = {"category": "street_lighting", "target": "team:lighting", "outcomes": []}


async def _notified(engine: AsyncEngine, external_id: str = "1", *,
                    recipients: tuple[str, ...] = ("pablo",), level: str = "abusive",
                    masked: str = MASKED) -> int:
    """A scored, decided message the `recipients` were notified of; answers its id."""
    body = message(external_id, text=RAW, author={"handle": "@troll"})
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(body)])
        await conn.execute(update(messages_table).where(messages_table.c.id == stored.id)
                           .values(masked_text=masked, harassment_level=level,
                                   stage="notified", decision=DECISION))
        for person in recipients:
            await outbox.enqueue(conn=conn, recipient=person, kind="deliver", body=masked,
                                 due_at=utcnow(), message_id=stored.id,
                                 idempotency_key=f"msg:{stored.id}:0:{person}")
    return stored.id


async def _items(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(review_table).order_by(review_table.c.id))
                ).mappings().all()
    return [dict(r) for r in rows]


async def _flags(engine: AsyncEngine) -> list[tuple[str, str, dict[str, Any]]]:
    a = audit_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(a.actor, a.subject, a.details)
                                   .where(a.action == "message.flag").order_by(a.id))).all()
    return [(r.actor, r.subject, dict(r.details)) for r in rows]


async def _unchanged(engine: AsyncEngine, message_id: int) -> None:
    """No strike, mute or block for the author; the message as it was."""
    status = await author_status(engine=engine, source="twitter", handle="@troll")
    assert (status.strikes, status.muted_until, status.blocked) == (0, None, False)
    async with engine.connect() as conn:
        row = (await conn.execute(select(messages_table.c.stage, messages_table.c.decision)
                                  .where(messages_table.c.id == message_id))).one()
    assert (row.stage, row.decision) == ("notified", DECISION)


def _secret(client: Client) -> str:
    return client.app[settings_key].secret_key


async def test_a_staff_member_flags_through_the_link_and_moderators_see_it(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    message_id = await _notified(engine)
    token = flag_token(_secret(client), message_id, "pablo")
    shown = await client.get(f"/flag/{token}")
    assert shown.status == 200
    page = await shown.text()
    assert f'action="/flag/{token}"' in page and 'name="note"' in page
    assert MASKED in page and "imbécil" not in page
    assert "¿Es un mensaje abusivo?" in page  # Pablo reads Spanish
    # The category and team by their names in the policy, never their ids.
    assert "Alumbrado público" in page and "street_lighting" not in page
    # The "see the message" link of a notification opens the same page.
    same = await client.get(f"/m/{token}")
    assert same.status == 200 and MASKED in await same.text()
    assert shown.headers["Cache-Control"] == "no-store"
    # Opening the link (a chat app's preview) changed nothing.
    assert await _items(engine) == [] and await _flags(engine) == []

    done = await client.post(f"/flag/{token}", data={"note": "  insulta al equipo  "})
    assert done.status == 200
    assert "los moderadores lo revisarán" in await done.text()
    listed = await client.get("/api/v1/review", headers=bearer(tokens[Role.moderator]))
    queue = await listed.json()
    [item] = queue["items"]
    assert (item["message_id"], item["reason"], item["level"], item["category"],
            item["target"], item["status"]) == (
        message_id, "flagged", "abusive", "street_lighting", "lighting", "open")
    assert item["masked_text"] == MASKED and "imbécil" not in json.dumps(queue)
    assert await _flags(engine) == [("person:pablo", f"message:{message_id}", {
        "review_id": item["id"], "via": "link", "note": "insulta al equipo"})]
    enqueued = [r for r in await _actions(engine) if r[0] == "review.enqueue"]
    assert enqueued == [("review.enqueue", "person:pablo", f"review:{item['id']}")]

    again = await client.post(f"/flag/{token}")
    assert again.status == 200 and "Ya lo habías marcado" in await again.text()
    assert len(await _items(engine)) == 1 and len(await _flags(engine)) == 1
    await _unchanged(engine, message_id)


async def _actions(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    a = audit_table.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(a.action, a.actor, a.subject).order_by(a.id))
    return [(r.action, r.actor, r.subject) for r in rows]


async def test_the_link_page_escapes_the_text(client: Client, engine: AsyncEngine) -> None:
    message_id = await _notified(engine, masked="La farola <script>alert(1)</script>")
    shown = await client.get(f"/flag/{flag_token(_secret(client), message_id, 'pablo')}")
    page = await shown.text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_a_forged_expired_foreign_or_dead_link_is_refused_with_a_clear_page(
        client: Client, engine: AsyncEngine) -> None:
    message_id = await _notified(engine)
    secret = _secret(client)
    good = flag_token(secret, message_id, "pablo")
    forged = good[:-4] + ("wxyz" if good.endswith("abcd") else "abcd")
    refused = {
        forged: "no es válido",
        aged_flag_token(secret, message_id, "pablo", 31 * DAY): "ha caducado",
        ack_token(secret, message_id, "pablo"): "no es válido",  # an ack link is no flag link
        flag_token("another secret, long enough to sign with", message_id, "pablo"):
            "no es válido",
        flag_token(secret, 999, "pablo"): "ya no existe",
    }
    for token, why in refused.items():
        for method in ("GET", "POST"):
            response = await client.request(method, f"/flag/{token}")
            assert response.status == 404, (method, why)
            text = await response.text()
            assert why in text and "<form" not in text, (method, why)
    # A link 29 days old still works.
    old = aged_flag_token(secret, message_id, "pablo", 29 * DAY)
    assert (await client.post(f"/flag/{old}")).status == 200
    assert [f[0] for f in await _flags(engine)] == ["person:pablo"]


async def test_a_flag_strikes_nothing_until_a_moderator_confirms_it(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    message_id = await _notified(engine, recipients=("pablo", "antonio"))
    pablo = bearer(tokens[Role.staff])
    path = f"/api/v1/messages/{message_id}/flag"
    first = await client.post(path, json={"note": "me insulta"}, headers=pablo)
    assert first.status == 202
    item = await first.json()
    assert set(item) == {"id", "message_id", "reason", "level", "category", "target",
                         "status", "decision", "created_at"}
    assert (item["message_id"], item["reason"], item["level"], item["status"],
            item["decision"]) == (message_id, "flagged", "abusive", "open", None)
    # Again, without a body, or through his link: the same item, nothing new.
    again = await client.post(path, headers=pablo)
    assert again.status == 200 and (await again.json())["id"] == item["id"]
    link = await client.post(f"/flag/{flag_token(_secret(client), message_id, 'pablo')}")
    assert "Ya lo habías marcado" in await link.text()
    # Antonio was told too: his flag joins the same item.
    _, antonio = await create_token(engine=engine, name="antonio-phone", role=Role.staff,
                                    staff_id="antonio")
    second = await client.post(path, json={}, headers=bearer(antonio))
    assert second.status == 202 and (await second.json())["id"] == item["id"]
    assert [(actor, details["via"], details.get("token"), details["note"])
            for actor, _, details in await _flags(engine)] == [
        ("person:pablo", "api", "staff:pablo", "me insulta"),
        ("person:antonio", "api", "staff:antonio", None)]
    assert len(await _items(engine)) == 1
    await _unchanged(engine, message_id)

    decided = await client.post(f"/api/v1/review/{item['id']}/decide",
                                headers=bearer(tokens[Role.moderator]),
                                json={"decision": "confirm"})
    assert decided.status == 200
    assert (await decided.json())["author"]["strikes"] == 1
    status = await author_status(engine=engine, source="twitter", handle="@troll")
    assert (status.strikes, status.muted_until, status.blocked) == (1, None, False)
    # Flagged after the decision: recorded, and the item says it was decided.
    late = await client.post(path, headers=bearer(tokens[Role.hr]))
    assert late.status == 202
    assert ((await late.json())["status"], (await late.json())["decision"]) == (
        "decided", "confirm")


async def test_a_dismissed_flag_is_not_delivered_again(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    from guardian.review.queue import dismissed_undelivered

    message_id = await _notified(engine)
    flagged = await client.post(f"/api/v1/messages/{message_id}/flag",
                                headers=bearer(tokens[Role.staff]))
    item = await flagged.json()
    decided = await client.post(f"/api/v1/review/{item['id']}/decide",
                                headers=bearer(tokens[Role.moderator]),
                                json={"decision": "dismiss"})
    body = await decided.json()
    assert body["item"]["decision"] == "dismiss" and body["item"]["released"] is False
    assert body["author"] is None
    async with engine.connect() as conn:
        assert await dismissed_undelivered(conn=conn, limit=10) == []
    await _unchanged(engine, message_id)


async def test_staff_flag_only_what_they_were_told_about(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mine = await _notified(engine, "1", recipients=("pablo",))
    others = await _notified(engine, "2", recipients=("antonio",))
    staff = bearer(tokens[Role.staff])
    refused = await client.post(f"/api/v1/messages/{others}/flag", headers=staff)
    assert refused.status == 404
    assert (await refused.json())["error"]["code"] == "not_found"
    assert (await client.post("/api/v1/messages/999/flag", headers=staff)).status == 404
    assert (await client.post("/api/v1/messages/abc/flag", headers=staff)).status == 422
    _, unnamed = await create_token(engine=engine, name="no-person", role=Role.staff)
    unbound = await client.post(f"/api/v1/messages/{mine}/flag", headers=bearer(unnamed))
    assert unbound.status == 403 and "--staff" in (await unbound.json())["error"]["message"]
    assert await _items(engine) == []

    async def error(body: Any, status: int, **kwargs: Any) -> dict[str, Any]:
        response = await client.post(f"/api/v1/messages/{mine}/flag", headers=staff,
                                     json=body, **kwargs)
        assert response.status == status, await response.text()
        return dict((await response.json())["error"])

    assert [e["field"] for e in (await error({"note": "x" * 501}, 422))["errors"]] == ["note"]
    assert [e["field"] for e in (await error({"colour": "red"}, 422))["errors"]] == ["colour"]
    assert (await error(["note"], 422))["code"] == "invalid"
    response = await client.post(f"/api/v1/messages/{mine}/flag", data="note=x",
                                 headers={**staff, "Content-Type": "text/plain"})
    assert response.status == 415
    assert await _items(engine) == [] and await _flags(engine) == []

    # Moderators, HR and admins may flag any message.
    for role in (Role.moderator, Role.hr, Role.admin):
        flagged = await client.post(f"/api/v1/messages/{others}/flag",
                                    headers=bearer(tokens[role]))
        assert flagged.status == 202, role
    assert (await client.post(f"/api/v1/messages/{mine}/flag", json={"note": "x" * 500},
                              headers=staff)).status == 202
    assert [(actor, subject) for actor, subject, _ in await _flags(engine)] == [
        ("moderator:maria", f"message:{others}"), ("hr:test-hr", f"message:{others}"),
        ("admin:test-admin", f"message:{others}"), ("person:pablo", f"message:{mine}")]


async def test_the_running_service_sends_flag_links_that_work(
        live_client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    """Wired as `guardian serve` wires it: the decision stage signs each recipient's flag
    link with the service's secret, and the link flags the message."""
    response = await live_client.post("/api/v1/messages", json=message("lamp"),
                                      headers=bearer(tokens[Role.ingest]))
    [message_id] = (await response.json())["ids"]

    async def notified() -> list[Notification]:
        c = outbox.notifications_table.c
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.notifications_table).where(
                c.message_id == message_id, c.kind == "deliver"))).mappings().all()
        return [Notification.model_validate(dict(r)) for r in rows]

    settings = live_client.app[settings_key]
    deadline = time.monotonic() + 30
    while not (found := await notified()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert found, "the lamp report was never notified"
    row = found[0]
    flag_url = row.payload["flag_url"]
    assert flag_url.startswith(f"{settings.base_url}/flag/")
    assert flag_url in row.body  # the delivery log's rendering shows it too
    token = flag_url.rsplit("/", 1)[1]
    claim = read_flag_token(settings.secret_key, token)
    assert (claim.message_id, claim.person) == (message_id, row.recipient)
    done = await live_client.post(f"/flag/{token}")
    assert done.status == 200
    [item] = await _items(engine)
    assert (item["message_id"], item["reason"]) == (message_id, "flagged")

    # The digest composer signs each item's link again when it makes the digest (here for
    # an item written before flags existed, for someone the policy does not know, whose
    # digest is made at once).
    async with engine.begin() as conn:
        await outbox.enqueue(
            conn=conn, recipient="visitor", kind="deliver", body="…",
            due_at=utcnow() - dt.timedelta(seconds=1), message_id=message_id,
            idempotency_key=f"old:{message_id}", status=NotificationStatus.waiting,
            payload={k: v for k, v in row.payload.items() if k != "flag_url"})

    async def digest() -> Notification | None:
        c = outbox.notifications_table.c
        async with engine.connect() as conn:
            found = (await conn.execute(select(outbox.notifications_table).where(
                c.recipient == "visitor", c.kind == "digest"))).mappings().first()
        return Notification.model_validate(dict(found)) if found else None

    deadline = time.monotonic() + 30
    while (made := await digest()) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert made is not None, "the digest was never made"
    [entry] = made.payload["groups"][0]["items"]
    claim = read_flag_token(settings.secret_key, entry["flag_url"].rsplit("/", 1)[1])
    assert (claim.message_id, claim.person) == (message_id, "visitor")


async def test_one_person_flagging_several_times_at_once_flags_once(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    message_id = await _notified(engine, recipients=("pablo", "antonio"))
    _, antonio = await create_token(engine=engine, name="antonio", role=Role.staff,
                                    staff_id="antonio")
    path = f"/api/v1/messages/{message_id}/flag"
    responses = await asyncio.gather(*(
        client.post(path, headers=bearer(token))
        for token in [tokens[Role.staff]] * 5 + [antonio] * 5))
    assert sorted(r.status for r in responses) == [200] * 8 + [202] * 2
    assert len({(await r.json())["id"] for r in responses}) == 1
    assert sorted(actor for actor, _, _ in await _flags(engine)) == [
        "person:antonio", "person:pablo"]
    assert len(await _items(engine)) == 1
