"""The delivery log through the API: who sees what, filters, paging, attempts, metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.metrics import channel_label
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.tokens import create_token
from guardian.types import NotificationKind, NotificationStatus, Role
from guardian.web.keys import engine_key
from tests.conftest import Client, bearer, message

START = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
SECRET = "s3cr3t-Pa55word"
MASKED = "json://hook:****@127.0.0.1:8080/notify"
LOG = "/api/v1/notifications"


async def _notify(engine: AsyncEngine, key: str, recipient: str = "pablo",
                  kind: NotificationKind = NotificationKind.deliver,
                  message_id: int | None = 1, page_id: int | None = None,
                  body: str = "La farola de la calle Real no funciona") -> int:
    async with engine.begin() as conn:
        made = await outbox.enqueue(conn=conn, recipient=recipient, kind=kind, body=body,
                                    due_at=START, idempotency_key=key, message_id=message_id,
                                    page_id=page_id)
    assert made.id is not None
    return made.id


async def _set(engine: AsyncEngine, notification_id: int, **values: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(outbox.notifications_table)
                           .where(outbox.notifications_table.c.id == notification_id)
                           .values(**values))


async def _attempt(engine: AsyncEngine, notification_id: int, *, ok: bool,
                   channel_index: int = 0, error: str | None = None) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(outbox.attempts_table).values(
            notification_id=notification_id, at=START, channel_index=channel_index,
            channel_url_masked=MASKED, ok=ok, error=error, duration_ms=12.5))


async def _sent_through_the_outbox(engine: AsyncEngine) -> int:
    """A notification the outbox delivered on its second channel after the first failed."""
    ident = await _notify(engine, "deliver:7:pablo", message_id=7)
    [claimed], lease = await outbox.claim_due(engine, START, 10, 60)
    attempts = [outbox.Attempt(0, "mailto://pablo:****@mail.example.org", False,
                               "connection refused", 30.0),
                outbox.Attempt(1, MASKED, True, None, 12.5)]
    nxt = outbox.Next(status=NotificationStatus.sent, channel_index=1, attempts=1,
                      available_at=START)
    assert await outbox.record_result(engine=engine, notification=claimed, lease=lease,
                                      now=START + dt.timedelta(seconds=3), attempts=attempts,
                                      next=nxt)
    return ident


async def _json(response: Any, status: int = 200) -> dict[str, Any]:
    body = dict(await response.json())
    assert response.status == status, body
    return body


async def _ids(client: Client, token: str, query: str = "") -> list[int]:
    body = await _json(await client.get(f"{LOG}?{query}", headers=bearer(token)))
    return [n["id"] for n in body["notifications"]]


async def test_admin_and_hr_see_everything_with_the_attempts_masked(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    sent = await _sent_through_the_outbox(engine)
    other = await _notify(engine, "deliver:8:antonio", recipient="antonio", message_id=8)
    for role in (Role.admin, Role.hr):
        response = await client.get(LOG, headers=bearer(tokens[role]))
        body = await _json(response)
        assert [n["id"] for n in body["notifications"]] == [other, sent]
        assert body["next_before"] is None
        assert SECRET not in await response.text()
    first = body["notifications"][1]
    assert first["recipient"] == "pablo" and first["status"] == "sent"
    assert first["kind"] == "deliver" and first["lang"] == "es"
    assert first["message_id"] == 7 and first["page_id"] is None
    assert first["channel_index"] == 1 and first["attempts"] == 1
    assert first["sent_at"] == "2026-11-26T09:00:03Z"
    assert first["due_at"] == "2026-11-26T09:00:00Z"
    assert first["body"] == "La farola de la calle Real no funciona"
    assert "payload" not in first and "idempotency_key" not in first
    assert first["deliveries"] == [
        {"at": "2026-11-26T09:00:03Z", "channel_index": 0,
         "channel_url_masked": "mailto://pablo:****@mail.example.org", "ok": False,
         "error": "connection refused", "duration_ms": 30.0},
        {"at": "2026-11-26T09:00:03Z", "channel_index": 1, "channel_url_masked": MASKED,
         "ok": True, "error": None, "duration_ms": 12.5}]
    assert body["notifications"][0]["deliveries"] == []
    one = await _json(await client.get(f"{LOG}/{sent}", headers=bearer(tokens[Role.hr])))
    assert one == first


async def test_staff_see_only_their_own(client: Client, engine: AsyncEngine,
                                        tokens: dict[Role, str]) -> None:
    mine = await _notify(engine, "deliver:1:pablo")
    theirs = await _notify(engine, "deliver:1:antonio", recipient="antonio")
    pablo = tokens[Role.staff]
    assert await _ids(client, pablo) == [mine]
    assert await _ids(client, pablo, "recipient=pablo") == [mine]
    refused = await _json(await client.get(f"{LOG}?recipient=antonio", headers=bearer(pablo)),
                          403)
    assert refused["error"]["message"] == ("A staff token may read only its own "
                                           "notifications (recipient `pablo`).")
    assert (await client.get(f"{LOG}/{mine}", headers=bearer(pablo))).status == 200
    hidden = await _json(await client.get(f"{LOG}/{theirs}", headers=bearer(pablo)), 404)
    missing = await _json(await client.get(f"{LOG}/999999", headers=bearer(pablo)), 404)
    # The same answer as for a notification that does not exist: nothing is revealed.
    assert hidden["error"]["message"].replace(str(theirs), "N") == \
        missing["error"]["message"].replace("999999", "N")
    _, antonio = await create_token(engine=engine, name="antonio", role=Role.staff,
                                    staff_id="antonio")
    assert await _ids(client, antonio) == [theirs]
    _, nobody = await create_token(engine=engine, name="nobody", role=Role.staff)
    refused = await _json(await client.get(LOG, headers=bearer(nobody)), 403)
    assert "names no member of staff" in refused["error"]["message"]


@pytest.mark.parametrize("path", [LOG, f"{LOG}/1"])
async def test_other_roles_are_refused_and_a_token_is_required(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str], path: str) -> None:
    await _notify(engine, "deliver:1:pablo")
    for role in (Role.ingest, Role.moderator):
        assert (await client.get(path, headers=bearer(tokens[role]))).status == 403
    assert (await client.get(path)).status == 401
    assert (await client.get(path, headers=bearer("gdn_not-a-real-token"))).status == 401


async def test_filters(client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    a = await _notify(engine, "deliver:1:pablo", message_id=1)
    b = await _notify(engine, "page:3:0:antonio", recipient="antonio",
                      kind=NotificationKind.page, message_id=2, page_id=3)
    c = await _notify(engine, "admin_alert:1", recipient="lucia",
                      kind=NotificationKind.admin_alert, message_id=None)
    d = await _notify(engine, "digest:pablo:1", kind=NotificationKind.digest, message_id=None)
    await _set(engine, a, status=NotificationStatus.digested.value, digest_id=d,
               created_at=START - dt.timedelta(days=2))
    await _set(engine, b, status=NotificationStatus.failed.value,
               last_error="every channel failed", created_at=START - dt.timedelta(days=1))
    await _set(engine, c, created_at=START)
    await _set(engine, d, status=NotificationStatus.sent.value, sent_at=START,
               created_at=START + dt.timedelta(hours=1))
    hr = tokens[Role.hr]
    assert await _ids(client, hr) == [d, c, b, a]
    assert await _ids(client, hr, "recipient=pablo") == [d, a]
    assert await _ids(client, hr, "status=failed") == [b]
    assert await _ids(client, hr, "status=sent,digested") == [d, a]
    assert await _ids(client, hr, "status=cancelled") == []
    assert await _ids(client, hr, "kind=page") == [b]
    assert await _ids(client, hr, "kind=digest,admin_alert") == [d, c]
    assert await _ids(client, hr, "message_id=2") == [b]
    assert await _ids(client, hr, "page_id=3") == [b]
    assert await _ids(client, hr, "since=2026-11-26T09:00:00Z") == [d, c]
    assert await _ids(client, hr, "until=2026-11-26T10:00:00%2B01:00") == [b, a]
    assert await _ids(client, hr, "since=2026-11-25T00:00:00Z&until=2026-11-26T10:00:00Z"
                      ) == [c, b]
    assert await _ids(client, hr, "recipient=pablo&status=digested") == [a]
    body = await _json(await client.get(f"{LOG}/{a}", headers=bearer(hr)))
    assert body["digest_id"] == d and body["status"] == "digested"
    # Staff filters apply within their own notifications.
    assert await _ids(client, tokens[Role.staff], "kind=digest") == [d]
    assert await _ids(client, tokens[Role.staff], "kind=page") == []


async def test_the_cursor_pages_back_newest_first(client: Client, engine: AsyncEngine,
                                                  tokens: dict[Role, str]) -> None:
    made = [await _notify(engine, f"deliver:{i}:pablo", message_id=i) for i in range(1, 6)]
    admin = bearer(tokens[Role.admin])
    seen: list[int] = []
    before: int | None = None
    pages = 0
    while True:
        query = "limit=2" + (f"&before={before}" if before is not None else "")
        body = await _json(await client.get(f"{LOG}?{query}", headers=admin))
        seen += [n["id"] for n in body["notifications"]]
        pages += 1
        before = body["next_before"]
        if before is None:
            break
        assert before == seen[-1]
    assert seen == sorted(made, reverse=True)
    assert pages == 3
    exact = await _json(await client.get(f"{LOG}?limit=5", headers=admin))
    assert len(exact["notifications"]) == 5 and exact["next_before"] is None
    assert await _ids(client, tokens[Role.admin], f"before={made[0]}") == []


async def test_attempts_are_read_in_one_query_for_the_whole_page(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    made = [await _notify(engine, f"deliver:{i}:pablo", message_id=i) for i in range(1, 8)]
    for ident in made:
        await _attempt(engine, ident, ok=False, error="timeout")
        await _attempt(engine, ident, ok=True, channel_index=1)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    app_engine = client.app[engine_key].sync_engine
    event.listen(app_engine, "before_cursor_execute", seen)
    try:
        body = await _json(await client.get(LOG, headers=bearer(tokens[Role.admin])))
    finally:
        event.remove(app_engine, "before_cursor_execute", seen)
    assert len(body["notifications"]) == 7
    assert all([d["ok"] for d in n["deliveries"]] == [False, True]
               for n in body["notifications"])
    assert sum("delivery_attempts" in s for s in statements) == 1


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"),
    ("before=-1", "before"), ("before=1.5", "before"), ("before=" + "9" * 40, "before"),
    ("status=delivered", "status"), ("status=sent,nope", "status"), ("kind=sms", "kind"),
    ("message_id=x", "message_id"), ("page_id=0", "page_id"),
    ("since=yesterday", "since"), ("since=2026-11-26T09:00:00", "since"),
    ("until=2026-13-01T00:00:00Z", "until"),
    ("since=2026-11-26T09:00:00Z&until=2026-11-26T09:00:00Z", "until"),
])
async def test_bad_parameters_are_named(client: Client, tokens: dict[Role, str], query: str,
                                        field: str) -> None:
    body = await _json(await client.get(f"{LOG}?{query}", headers=bearer(tokens[Role.hr])),
                       422)
    assert body["error"]["code"] == "invalid"
    assert [e["field"] for e in body["error"]["errors"]] == [field]
    assert f"`{field}`" in body["error"]["message"]


async def test_a_bad_or_unknown_id(client: Client, tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    body = await _json(await client.get(f"{LOG}/abc", headers=hr), 422)
    assert body["error"]["errors"][0]["field"] == "id"
    assert (await client.get(f"{LOG}/{'9' * 30}", headers=hr)).status == 422
    assert (await client.get(f"{LOG}/12345", headers=hr)).status == 404


async def test_metrics_count_the_outbox_by_status(client: Client, engine: AsyncEngine,
                                                  tokens: dict[Role, str]) -> None:
    await _sent_through_the_outbox(engine)
    await _notify(engine, "deliver:1:antonio", recipient="antonio")
    await _notify(engine, "deliver:2:antonio", recipient="antonio")
    text = await (await client.get("/metrics", headers=bearer(tokens[Role.admin]))).text()
    assert 'guardian_notifications{status="pending"} 2.0' in text
    assert 'guardian_notifications{status="sent"} 1.0' in text
    assert 'guardian_notifications{status="failed"} 0.0' in text
    for name in ("guardian_notifications_sent", "guardian_notifications_failed",
                 "guardian_notification_attempts_failed",
                 "guardian_notification_delivery_seconds"):
        assert f"# TYPE {name}" in text


def test_the_channel_label_is_the_scheme_only() -> None:
    assert channel_label("json://hook:s3cret@127.0.0.1:8080/notify") == "json"
    assert channel_label("MAILTO://pablo:****@mail.example.org") == "mailto"
    assert channel_label("mqtts://user:pass@broker/topic") == "mqtts"
    assert channel_label(" tgram://bot/chat") == "tgram"
    assert channel_label("no scheme here") == "unknown"
    assert channel_label("") == "unknown"
    assert channel_label("://x") == "unknown"


async def test_staff_open_the_message_their_notification_links_to_masked(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(
            message("m1", text="La farola de la calle Real está rota, tontos",
                    url="https://social.example/@vecina/1"))])
        await conn.execute(update(messages_table).where(messages_table.c.id == stored.id)
                           .values(masked_text="La farola de la calle Real está rota, ▒▒▒▒▒▒",
                                   harassment_level="abusive"))
    staff = bearer(tokens[Role.staff])  # pablo's
    path = f"/api/v1/messages/{stored.id}"
    assert (await client.get(path, headers=staff)).status == 404  # not his: as if absent
    await _notify(engine, "deliver:m1:pablo", message_id=stored.id)
    body = await _json(await client.get(path, headers=staff))
    assert body["text"] == "La farola de la calle Real está rota, ▒▒▒▒▒▒"
    assert "tontos" not in str(body)
    assert body["url"] is None and body["assessment"] is None and body["decision"] is None
    # Moderators read it masked here too (the original only through a claim); the
    # operators' admin token reads the original.
    moderated = await _json(await client.get(path, headers=bearer(tokens[Role.moderator])))
    assert "tontos" not in moderated["text"]
    original = await _json(await client.get(path, headers=bearer(tokens[Role.admin])))
    assert original["text"].endswith("tontos")
