"""The Bluesky connector against a fake PDS that speaks XRPC as documented
(tests/fakes/bluesky.py): sessions, backwards paging, the cursor across restarts, errors."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from guardian.connectors.base import Batch, ConnectorError, NotAuthorised, RateLimited
from guardian.connectors.bluesky import BlueskyConnector
from tests.fakes.bluesky import TOWN_HANDLE, FakeBluesky
from tests.receivers import closed_port

# The connector's clock: a minute before the fake's first notification.
NOW = dt.datetime(2026, 3, 10, 8, 59, tzinfo=dt.UTC)
LIST = "app.bsky.notification.listNotifications"
TOWN = f"@{TOWN_HANDLE}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBluesky]:
    server = await FakeBluesky().start()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def connector(fake: FakeBluesky, **options: int) -> BlueskyConnector:
    return BlueskyConnector(fake.service, fake.identifier, fake.password,
                            clock=lambda: NOW, **options)


def texts(batch: Batch) -> list[str]:
    return [m.text.split(" @")[0] for m in batch.messages]


async def test_the_first_run_starts_from_now(fake: FakeBluesky,
                                             http: aiohttp.ClientSession) -> None:
    """Old mentions are history: the first run reads one notification to learn where the
    feed stands and returns nothing; what comes after it arrives next time."""
    fake.add_post("¿A qué hora abre el registro?")
    fake.add_post("Gracias por arreglar el banco del parque")
    bluesky = connector(fake)

    first = await bluesky.fetch(http, None)

    assert first.messages == [] and first.cursor is not None
    assert [c.params.get("limit") for c in fake.calls(LIST)] == ["1"]
    fake.add_post("La farola de la calle Real no funciona")
    second = await bluesky.fetch(http, first.cursor)
    assert texts(second) == ["La farola de la calle Real no funciona"]


async def test_the_first_run_on_a_quiet_account_starts_from_the_clock(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    first = await bluesky.fetch(http, None)
    assert first.messages == [] and first.cursor is not None
    fake.add_post("¿Hay recogida de poda esta semana?")
    assert texts(await bluesky.fetch(http, first.cursor)) == [
        "¿Hay recogida de poda esta semana?"]


async def test_new_posts_come_oldest_first_with_every_field(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    mention = fake.add_post("La farola de la calle Real no funciona",
                            mentions=[(TOWN_HANDLE, fake.did),
                                      ("concejala-obras.bsky.social", "did:plc:concejala01")])
    reply = fake.add_post("Sigue sin luz esta noche", reason="reply",
                          reply_to=f"at://{fake.did}/app.bsky.feed.post/3kparent", langs=[])
    quote = fake.add_post("Bon dia, el contenidor és ple", reason="quote", author="jordi.cat",
                          author_did="did:plc:jordi00", display_name=None,
                          langs=["ca", "es"])

    batch = await bluesky.fetch(http, cursor)

    assert batch.skipped == 0 and not batch.more
    first, second, third = batch.messages
    assert first.source == "bluesky"
    assert first.external_id == mention["uri"] and first.external_id.startswith("at://")
    assert first.author.handle == "@lucia.bsky.social" and first.author.name == "Lucía"
    assert first.text == ("La farola de la calle Real no funciona "
                          f"{TOWN} @concejala-obras.bsky.social")
    assert first.created_at == dt.datetime.fromisoformat(
        mention["record"]["createdAt"].replace("Z", "+00:00"))
    assert first.mentions == [TOWN, "@concejala-obras.bsky.social"]
    assert first.in_reply_to is None
    rkey = mention["uri"].rsplit("/", 1)[1]
    assert first.url == f"https://bsky.app/profile/lucia.bsky.social/post/{rkey}"
    assert first.lang == "es"

    assert second.external_id == reply["uri"]
    assert second.in_reply_to == f"at://{fake.did}/app.bsky.feed.post/3kparent"
    assert second.lang is None

    assert third.external_id == quote["uri"]
    assert third.author.handle == "@jordi.cat" and third.author.name is None
    assert third.lang == "ca"
    assert third.url is not None and third.url.startswith("https://bsky.app/profile/jordi.cat/")
    assert batch.cursor is not None
    assert json.loads(batch.cursor)["uri"] == quote["uri"]


async def test_pages_back_until_the_stored_position(fake: FakeBluesky,
                                                    http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake, page_size=2)
    cursor = (await bluesky.fetch(http, None)).cursor
    expected = []
    for n in range(5):
        expected.append(f"Aviso {n}: el contenedor de vidrio está lleno")
        fake.add_post(expected[-1])
        fake.add_like()
    calls_before = len(fake.calls(LIST))

    batch = await bluesky.fetch(http, cursor)

    assert texts(batch) == expected
    listed = fake.calls(LIST)[calls_before:]
    # 10 notifications, 2 a page: five full pages, then the empty one that ends the feed
    # (the position stored by the first run is older than all of them).
    assert len(listed) == 6
    assert "cursor" not in listed[0].params and all("cursor" in c.params for c in listed[1:])
    assert (await bluesky.fetch(http, batch.cursor)).messages == []


async def test_the_cursor_survives_a_restart(fake: FakeBluesky,
                                             http: aiohttp.ClientSession) -> None:
    """A new connector given the stored cursor gets exactly what came after it."""
    before = connector(fake, page_size=2)
    cursor = (await before.fetch(http, None)).cursor
    fake.add_post("Primero: bache en la avenida")
    fake.add_post("Segundo: bache en la avenida")
    taken = await before.fetch(http, cursor)
    assert texts(taken) == ["Primero: bache en la avenida", "Segundo: bache en la avenida"]

    fake.add_post("Tercero: el bache sigue ahí")
    fake.add_like()
    fake.add_post("Cuarto: ya lo han tapado, gracias")
    after = connector(fake, page_size=2)   # the process restarted: a new object and session
    resumed = await after.fetch(http, taken.cursor)

    assert texts(resumed) == ["Tercero: el bache sigue ahí", "Cuarto: ya lo han tapado, gracias"]
    assert fake.sessions_created == 2
    again = await after.fetch(http, resumed.cursor)
    assert again.messages == [] and again.cursor == resumed.cursor


async def test_a_walk_cut_by_the_page_bound_goes_on_next_time(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake, page_size=2, max_pages=2)
    cursor = (await bluesky.fetch(http, None)).cursor
    posted = [f"Incidencia {n} en el alumbrado" for n in range(7)]
    for text in posted:
        fake.add_post(text)

    first = await bluesky.fetch(http, cursor)
    assert first.more and texts(first) == posted[3:]
    second = await bluesky.fetch(http, first.cursor)
    assert not second.more and texts(second) == posted[:3]
    assert second.cursor is not None
    assert json.loads(second.cursor)["uri"] == first.messages[-1].external_id
    fake.add_post("Incidencia 7 en el alumbrado")
    assert texts(await connector(fake).fetch(http, second.cursor)) == [
        "Incidencia 7 en el alumbrado"]


async def test_likes_reposts_and_follows_are_ignored(fake: FakeBluesky,
                                                     http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    fake.add_like()
    fake.add_like(reason="repost")
    fake.add_post("¿Cuándo es el pleno?")
    follow = fake.add_like(reason="follow")

    batch = await bluesky.fetch(http, cursor)

    assert texts(batch) == ["¿Cuándo es el pleno?"] and batch.skipped == 0
    # The cursor moved past the follow too: nothing to read again next time.
    assert batch.cursor is not None and json.loads(batch.cursor)["uri"] == follow["uri"]


async def test_a_malformed_notification_is_skipped_and_counted(
        fake: FakeBluesky, http: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    fake.add_post("Antes: el parque está muy limpio")
    no_text = fake.add_post("sin texto")
    del no_text["record"]["text"]
    fake.add_raw({"uri": "at://did:plc:x/app.bsky.feed.post/3kbad", "reason": "mention",
                  "author": "not-an-object", "record": {"$type": "app.bsky.feed.post"},
                  "indexedAt": "2026-03-10T09:10:00.000Z"})
    naive = fake.add_post("fecha sin zona")
    naive["record"]["createdAt"] = "2026-03-10T09:00:00"
    fake.add_raw({"reason": "mention"})   # no uri, no indexedAt
    fake.add_post("Después: gracias por la información")

    with caplog.at_level(logging.DEBUG):
        batch = await bluesky.fetch(http, cursor)

    assert texts(batch) == ["Antes: el parque está muy limpio",
                            "Después: gracias por la información"]
    assert batch.skipped == 4
    assert "skipped" in caplog.text
    assert fake.password not in caplog.text and fake.password not in repr(bluesky)


async def test_an_expired_access_token_is_refreshed(fake: FakeBluesky,
                                                    http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    fake.expire_access_tokens()
    fake.add_post("La fuente de la plaza pierde agua")

    batch = await bluesky.fetch(http, cursor)

    assert texts(batch) == ["La fuente de la plaza pierde agua"]
    assert (fake.sessions_created, fake.sessions_refreshed) == (1, 1)
    refreshed = fake.calls("com.atproto.server.refreshSession")
    assert [c.authorization for c in refreshed] == ["Bearer refresh-jwt-1"]


async def test_a_spent_refresh_token_means_a_new_session(fake: FakeBluesky,
                                                         http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    fake.expire_access_tokens()
    fake.expire_refresh_tokens()
    fake.add_post("La fuente de la plaza pierde agua")

    batch = await bluesky.fetch(http, cursor)

    assert texts(batch) == ["La fuente de la plaza pierde agua"]
    assert (fake.sessions_created, fake.sessions_refreshed) == (2, 0)


async def test_429_is_rate_limited_with_the_wait_from_the_headers(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    fake.reset_at = int(NOW.timestamp()) + 120
    fake.rate_limited = True
    with pytest.raises(RateLimited) as raised:
        await bluesky.fetch(http, cursor)
    assert raised.value.retry_after == pytest.approx(120)


async def test_a_success_that_spends_the_window_still_returns_its_batch(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    fake.add_post("Se ha caído una rama en el paseo")
    fake.remaining = 1
    fake.reset_at = int(NOW.timestamp()) + 300

    batch = await bluesky.fetch(http, cursor)

    assert texts(batch) == ["Se ha caído una rama en el paseo"]
    with pytest.raises(RateLimited) as raised:
        await bluesky.fetch(http, batch.cursor)
    assert raised.value.retry_after == pytest.approx(300)


async def test_a_window_spent_mid_walk_keeps_the_rest_for_later(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake, page_size=2)
    cursor = (await bluesky.fetch(http, None)).cursor
    posted = [f"Queja {n}: ruido de obras de noche" for n in range(5)]
    for text in posted:
        fake.add_post(text)
    fake.remaining = 1   # one page, then the window is spent

    first = await bluesky.fetch(http, cursor)
    assert texts(first) == posted[3:] and not first.more
    fake.remaining = 100
    second = await bluesky.fetch(http, first.cursor)
    assert texts(second) == posted[:3]
    assert (await bluesky.fetch(http, second.cursor)).messages == []


async def test_a_server_error_is_a_connector_error(fake: FakeBluesky,
                                                   http: aiohttp.ClientSession) -> None:
    bluesky = connector(fake)
    cursor = (await bluesky.fetch(http, None)).cursor
    fake.fail_status = 500
    with pytest.raises(ConnectorError) as raised:
        await bluesky.fetch(http, cursor)
    assert type(raised.value) is ConnectorError and "500" in str(raised.value)


async def test_an_unreachable_service_is_a_connector_error(
        http: aiohttp.ClientSession) -> None:
    bluesky = BlueskyConnector(f"http://127.0.0.1:{closed_port()}", "ayto", "secret",
                               clock=lambda: NOW)
    with pytest.raises(ConnectorError) as raised:
        await bluesky.fetch(http, None)
    assert type(raised.value) is ConnectorError


async def test_a_wrong_password_is_not_authorised(fake: FakeBluesky,
                                                  http: aiohttp.ClientSession) -> None:
    bluesky = BlueskyConnector(fake.service, fake.identifier, "wrong-pass-word-xxxx",
                               clock=lambda: NOW)
    with pytest.raises(NotAuthorised):
        await bluesky.fetch(http, None)
    assert fake.calls(LIST) == []
