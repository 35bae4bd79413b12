"""Staff's own pages over HTTP: the today page (now, pages waiting, next shifts, hours,
calendar link) and the inbox with read state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.db import utcnow
from guardian.storage.messages import store_messages
from guardian.storage.overrides import create_override
from guardian.storage.pages import Step, open_page
from guardian.types import NotificationStatus, OverrideStatus
from guardian.web.ui.today import qr_svg
from tests.conftest import Client, message
from tests.ui.conftest import form_token, sign_in_as
from tests.ui.test_staff_pages import MASKED, _notified

HOUR = dt.timedelta(hours=1)


async def test_staff_land_on_their_day(client: Client, engine: AsyncEngine) -> None:
    now = utcnow()
    async with engine.begin() as conn:   # Antonio covers lighting for the next two hours
        await create_override(conn=conn, team="lighting", kind="add", person="antonio",
                              replaces=None, starts_at=now - HOUR, ends_at=now + 2 * HOUR,
                              reason="cover", created_by="hr:test",
                              status=OverrideStatus.active)
        paged, _ = await open_page(conn=conn, team="lighting", reason="…",
                                   plan=[Step("antonio", 10)], last_resort="lucia", now=now,
                                   category="street_lighting")
    await sign_in_as(client, engine, "antonio")
    home = await client.get("/", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"] == "/today"
    page = await (await client.get("/today")).text()
    assert "Hola, Antonio Molina" in page
    now_section = page.split('id="now-title"')[1].split("</section>")[0]
    assert "Alumbrado público (street lighting)" in now_section
    # The page waiting for him, with his own acknowledgement link.
    pages = page.split('id="pages-title"')[1].split("</section>")[0]
    assert "Alumbrado público" in pages and "/ack/" in pages and "lo tienes tú ahora" in pages
    ack_link = pages.split('href="')[1].split('"')[0]
    assert (await client.get(ack_link)).status == 200
    # His hours from the policy, and his calendar, which opens without a session.
    assert "Horario de trabajo" in page and "Lunes" in page
    calendar = page.split('id="calendar-url">')[1].split("<")[0]
    # The QR code beside it is that same address (a phone reads it off a laptop).
    assert str(qr_svg(calendar)) in page and '<svg class="qr"' in page
    path = calendar.split("://", 1)[1].split("/", 1)[1]
    feed = await client.get(f"/{path}")
    assert feed.status == 200 and "BEGIN:VCALENDAR" in await feed.text()
    # Nobody else sees his pages waiting.
    client.session.cookie_jar.clear()
    await sign_in_as(client, engine, "pablo")
    other = await (await client.get("/today")).text()
    assert "/ack/" not in other.split('id="pages-title"')[1].split("</section>")[0]
    assert paged.id


async def _queued(engine: AsyncEngine, who: str, message_id: int | None, *, key: str,
                  kind: str = "deliver",
                  status: NotificationStatus = NotificationStatus.pending,
                  due_at: dt.datetime | None = None) -> None:
    async with engine.begin() as conn:
        await outbox.enqueue(conn=conn, recipient=who, kind=kind, body=MASKED,
                             due_at=due_at or utcnow(), message_id=message_id,
                             idempotency_key=key, payload={"text": MASKED},
                             category="street_lighting", status=status)


async def test_the_inbox_shows_what_reached_them_and_what_they_read(
        client: Client, engine: AsyncEngine) -> None:
    first = await _notified(engine, "1", ("carmen",))
    second = await _notified(engine, "2", ("carmen",))
    await _notified(engine, "3", ("antonio",))                # someone else's
    # One more waits for tomorrow morning's digest: out of the inbox until then.
    body = message("4", text="La farola de la plaza parpadea")
    async with engine.begin() as conn:
        [later] = await store_messages(conn=conn, messages=[MessageIn.model_validate(body)])
    await _queued(engine, "carmen", later.id, key="later", status=NotificationStatus.waiting,
                  due_at=utcnow() + 8 * HOUR)
    token = await sign_in_as(client, engine, "carmen")
    inbox = await (await client.get("/inbox")).text()
    assert inbox.count('class="unread"') == 2 and inbox.count(MASKED) == 2
    assert f'href="/messages/{first}"' in inbox and f'href="/messages/{second}"' in inbox
    assert "La farola de la plaza" not in inbox and "Te llegarán 1 más" in inbox
    today = await (await client.get("/today")).text()
    assert "2 sin leer" in today
    # Opening a message's page reads it.
    assert (await client.get(f"/messages/{first}")).status == 200
    inbox = await (await client.get("/inbox")).text()
    assert inbox.count('class="unread"') == 1
    # Mark all as read: a form with the session's token.
    refused = await client.post("/inbox/read", data={})
    assert refused.status == 403
    done = await client.post("/inbox/read", data={"csrf_token": token})
    assert done.status == 200 and "Marcados como leídos: 1." in await done.text()
    assert 'class="unread"' not in await (await client.get("/inbox")).text()
    assert "nada sin leer" in await (await client.get("/today")).text()


async def test_the_link_reads_the_notification_too(client: Client, engine: AsyncEngine
                                                   ) -> None:
    from guardian.acks.links import FlagLinks
    from guardian.web.keys import settings_key

    message_id = await _notified(engine, "1", ("carmen",))
    links = FlagLinks(client.app[settings_key].secret_key, "")
    assert (await client.get(links.page(message_id, "carmen"))).status == 200
    await sign_in_as(client, engine, "carmen")
    page = await (await client.get("/inbox")).text()
    assert 'class="unread"' not in page and form_token(page)
