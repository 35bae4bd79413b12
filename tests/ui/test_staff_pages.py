"""The message page (signed in, or the notification's signed link) and the
acknowledgement page, over plain HTTP through the real app: what staff see (the masked
text, names not ids, the request's status, one language) and what they can do."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import FlagLinks, ack_token
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.accounts import set_language
from guardian.storage.audit import audit_table
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.pages import Step, open_page
from guardian.storage.requests import request_state
from guardian.web.keys import settings_key
from tests.conftest import Client, message
from tests.ui.conftest import sign_in_as

RAW = "Sois unos cabezas de chorlito, la farola de la calle Real sigue rota"
MASKED = "Sois unos [insulto], la farola de la calle Real sigue rota"


def _decision(team: str = "lighting") -> dict[str, Any]:
    return {"version": 1, "team": team, "category": "street_lighting", "level": "rude",
            "target": f"team:{team}",
            "outcomes": [{"kind": "deliver_now", "at": utcnow().isoformat()}]}


async def _notified(engine: AsyncEngine, external_id: str, recipients: tuple[str, ...],
                    team: str = "lighting") -> int:
    """A rude request, decided for `team`, that `recipients` were told about."""
    body = message(external_id, text=RAW, author={"handle": "@vecina"})
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(body)])
        await conn.execute(update(messages_table).where(messages_table.c.id == stored.id)
                           .values(masked_text=MASKED, harassment_level="rude",
                                   stage="notified", decision=_decision(team)))
        for person in recipients:
            await outbox.enqueue(conn=conn, recipient=person, kind="deliver", body=MASKED,
                                 due_at=utcnow(), message_id=stored.id,
                                 payload={"text": MASKED}, category="street_lighting",
                                 idempotency_key=f"msg:{stored.id}:0:{person}")
    return stored.id


async def _status(engine: AsyncEngine, message_id: int) -> str:
    async with engine.connect() as conn:
        state = await request_state(conn=conn, message_id=message_id)
    return state.status if state else "received"


async def test_signed_in_staff_read_their_message_masked_with_names_and_status(
        client: Client, engine: AsyncEngine) -> None:
    message_id = await _notified(engine, "1", ("jose",))   # José is told; Carmen's team
    token = await sign_in_as(client, engine, "carmen")
    shown = await client.get(f"/messages/{message_id}")
    page = await shown.text()
    assert shown.status == 200, page
    assert MASKED in page and "chorlito" not in page       # never the original
    assert "Alumbrado público" in page and "street_lighting" not in page
    assert "Estado de la petición: recibida" in page
    assert shown.headers["Cache-Control"] == "no-store"
    # A move from the page: back to the page (a reload repeats nothing), which says so.
    moved = await client.post(f"/messages/{message_id}/status",
                              data={"csrf_token": token, "status": "in_progress"},
                              allow_redirects=False)
    assert moved.status == 303
    after = await (await client.get(moved.headers["Location"])).text()
    assert "la petición está ahora en curso" in after
    assert await _status(engine, message_id) == "in_progress"
    # Closing needs a reason: refused with the page and its sentence, nothing changed.
    refused = await client.post(f"/messages/{message_id}/status",
                                data={"csrf_token": token, "status": "closed"})
    assert refused.status == 422 and "di por qué" in await refused.text()
    assert await _status(engine, message_id) == "in_progress"
    # Without the session's CSRF token nothing moves.
    forged = await client.post(f"/messages/{message_id}/status",
                               data={"status": "resolved"})
    assert forged.status == 403 and await _status(engine, message_id) == "in_progress"
    async with engine.connect() as conn:
        actors = (await conn.execute(select(audit_table.c.actor).where(
            audit_table.c.action == "request.move"))).scalars().all()
    assert actors == ["staff:carmen"]


async def test_a_message_not_theirs_is_not_found(client: Client, engine: AsyncEngine) -> None:
    """Neither told of it nor in its team: as if it did not exist (404, a page)."""
    message_id = await _notified(engine, "1", ("antonio",))
    await sign_in_as(client, engine, "pablo")     # the police, not lighting
    for path in (f"/messages/{message_id}", "/messages/999999", "/messages/abc"):
        shown = await client.get(path)
        assert shown.status == 404, path
        assert "text/html" in shown.headers["Content-Type"]
        assert MASKED not in await shown.text()


async def test_flagging_from_the_page_puts_it_before_the_moderators(
        client: Client, engine: AsyncEngine) -> None:
    message_id = await _notified(engine, "1", ("antonio",))
    token = await sign_in_as(client, engine, "antonio")
    flagged = await client.post(f"/messages/{message_id}/flag",
                                data={"csrf_token": token, "note": "nos insulta"})
    assert flagged.status == 200 and "Lo has marcado como abusivo" in await flagged.text()
    again = await client.post(f"/messages/{message_id}/flag", data={"csrf_token": token})
    assert "Ya lo habías marcado" in await again.text()
    too_long = await client.post(f"/messages/{message_id}/flag",
                                 data={"csrf_token": token, "note": "x" * 501})
    assert too_long.status == 422 and "más de 500 caracteres" in await too_long.text()
    async with engine.connect() as conn:
        flags = (await conn.execute(select(audit_table.c.actor, audit_table.c.details).where(
            audit_table.c.action == "message.flag"))).all()
    assert [(actor, details["via"]) for actor, details in flags] == [("person:antonio", "web")]


async def test_the_notification_link_opens_the_page_in_the_persons_language(
        client: Client, engine: AsyncEngine) -> None:
    """No sign-in: the signed link names the message and the person; Carmen chose
    English, so the page is English through and through."""
    message_id = await _notified(engine, "1", ("carmen",))
    links = FlagLinks(client.app[settings_key].secret_key, "")
    await set_language(engine=engine, staff_id="carmen", lang="en", now=utcnow())
    shown = await client.get(links.page(message_id, "carmen"))
    page = await shown.text()
    assert shown.status == 200 and '<html lang="en">' in page
    assert "Street lighting" in page and "Request status: received" in page
    assert "Petición" not in page and "Alumbrado" not in page.replace(
        "Alumbrado público (street lighting)", "")
    assert MASKED in page and "chorlito" not in page
    assert 'action="/language"' not in page and "Sign out" not in page  # no session here
    moved = await client.post(links(message_id, "carmen") + "/status",
                              data={"status": "acknowledged"})
    assert moved.status == 200 and "the request is now seen" in await moved.text()


def _plan() -> list[Step]:
    return [Step("antonio", 10), Step("carmen", 15)]


async def test_the_acknowledgement_page_says_what_happens_next_in_one_language(
        client: Client, engine: AsyncEngine) -> None:
    message_id = await _notified(engine, "1", ())
    at = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)     # 03:00 in Madrid
    async with engine.begin() as conn:
        page, _ = await open_page(conn=conn, team="lighting", reason="street_lighting "
                                  "(emergency): …", plan=_plan(), last_resort="lucia",
                                  now=at, message_id=message_id, category="street_lighting")
    secret = client.app[settings_key].secret_key
    await set_language(engine=engine, staff_id="carmen", lang="en", now=utcnow())
    # Carmen (English) opens Antonio's page from the team's chain: she can take it.
    shown = await (await client.get(f"/ack/{ack_token(secret, page.id or 0, 'carmen')}")
                   ).text()
    assert '<html lang="en">' in shown and "Urgent: Street lighting" in shown
    assert MASKED in shown and "chorlito" not in shown and "(emergency)" not in shown
    assert "by 26/11/2026 03:10" in shown and "Carmen Ruiz · 26/11/2026 03:10" in shown
    assert "Lucía Romero · 26/11/2026 03:25 · last resort" in shown
    assert "The page is with Antonio Molina now; you can take it." in shown
    assert "Me encargo" not in shown and "Recibido" not in shown
    link = f"/ack/{ack_token(secret, page.id or 0, 'antonio')}"
    done = await (await client.post(link)).text()
    assert "La escalada se ha detenido" in done and "/m/" in done  # and the message page
