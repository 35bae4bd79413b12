"""The X connector against a fake API v2 that answers `GET /2/users/:id/mentions` as
documented (tests/fakes/x.py): since_id, pagination, the cursor across restarts, errors."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from guardian.connectors.base import Batch, ConnectorError, NotAuthorised, RateLimited
from guardian.connectors.x import XConnector, snowflake_at
from tests.fakes.x import TOWN_USERNAME, FakeX
from tests.receivers import closed_port

# The connector's clock: a minute before the fake's first post.
NOW = dt.datetime(2026, 3, 10, 8, 59, tzinfo=dt.UTC)
TOWN = f"@{TOWN_USERNAME}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    server = await FakeX().start()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def connector(fake: FakeX, **options: int) -> XConnector:
    return XConnector(fake.user_id, fake.bearer_token, api=fake.api, clock=lambda: NOW,
                      **options)


def texts(batch: Batch) -> list[str]:
    return [m.text.removeprefix(f"{TOWN} ") for m in batch.messages]


async def test_the_first_run_starts_from_now(fake: FakeX, http: aiohttp.ClientSession) -> None:
    fake.add_mention("¿A qué hora abre el registro?")
    old = fake.add_mention("Gracias por arreglar el banco del parque")
    x = connector(fake)

    first = await x.fetch(http, None)

    assert first.messages == [] and first.cursor == old["id"]
    assert len(fake.requests) == 1
    assert fake.requests[0]["max_results"] == "5" and "since_id" not in fake.requests[0]
    fake.add_mention("La farola de la calle Real no funciona")
    second = await x.fetch(http, first.cursor)
    assert texts(second) == ["La farola de la calle Real no funciona"]
    assert fake.requests[-1]["since_id"] == old["id"]
    assert fake.requests[-1]["max_results"] == "100"


async def test_the_first_run_on_a_quiet_account_starts_from_the_clock(
        fake: FakeX, http: aiohttp.ClientSession) -> None:
    x = connector(fake)
    first = await x.fetch(http, None)
    assert first.messages == [] and first.cursor == snowflake_at(NOW)
    fake.add_mention("¿Hay recogida de poda esta semana?")
    assert texts(await x.fetch(http, first.cursor)) == ["¿Hay recogida de poda esta semana?"]


async def test_new_mentions_come_oldest_first_with_every_field(
        fake: FakeX, http: aiohttp.ClientSession) -> None:
    x = connector(fake)
    cursor = (await x.fetch(http, None)).cursor
    mention = fake.add_mention("La farola de la calle Real no funciona",
                               mentions=["ConcejalaObras"])
    reply = fake.add_mention("Sigue sin luz esta noche", reply_to="1899000000000000000",
                             author="pepe_vecino", name="Pepe")
    undetermined = fake.add_mention("👍👍", lang="und")

    batch = await x.fetch(http, cursor)

    assert batch.skipped == 0 and not batch.more
    first, second, third = batch.messages
    # `twitter`: the feed staff `handles` name, so a mention of staff reaches them.
    assert first.source == "twitter" and first.external_id == mention["id"]
    assert first.author.handle == "@lucia_vecina" and first.author.name == "Lucía Pérez"
    assert first.text == f"{TOWN} @ConcejalaObras La farola de la calle Real no funciona"
    assert first.created_at == dt.datetime.fromisoformat(
        mention["created_at"].replace("Z", "+00:00"))
    assert first.created_at.tzinfo is not None
    assert first.mentions == [TOWN, "@ConcejalaObras"]
    assert first.in_reply_to is None
    assert first.url == f"https://x.com/lucia_vecina/status/{mention['id']}"
    assert first.lang == "es"

    assert second.external_id == reply["id"] and second.author.handle == "@pepe_vecino"
    assert second.in_reply_to == "1899000000000000000"
    assert third.external_id == undetermined["id"] and third.lang is None
    assert batch.cursor == undetermined["id"]
    asked = fake.requests[-1]
    assert asked["expansions"] == "author_id" and asked["user.fields"] == "username,name"
    assert {"created_at", "lang", "author_id", "entities", "referenced_tweets"} <= set(
        asked["tweet.fields"].split(","))


async def test_pages_follow_next_token_until_since_id(fake: FakeX,
                                                      http: aiohttp.ClientSession) -> None:
    x = connector(fake, page_size=5)
    cursor = (await x.fetch(http, None)).cursor
    posted = [f"Aviso {n}: el contenedor de vidrio está lleno" for n in range(12)]
    for text in posted:
        fake.add_mention(text)
    before = len(fake.requests)

    batch = await x.fetch(http, cursor)

    assert texts(batch) == posted
    pages = fake.requests[before:]
    assert len(pages) == 3
    assert "pagination_token" not in pages[0]
    assert all("pagination_token" in p and p["since_id"] == cursor for p in pages[1:])
    assert batch.cursor == batch.messages[-1].external_id
    assert (await x.fetch(http, batch.cursor)).messages == []


async def test_the_cursor_survives_a_restart(fake: FakeX, http: aiohttp.ClientSession) -> None:
    before = connector(fake, page_size=5)
    cursor = (await before.fetch(http, None)).cursor
    for n in range(3):
        fake.add_mention(f"Bache {n} en la avenida")
    taken = await before.fetch(http, cursor)
    assert texts(taken) == [f"Bache {n} en la avenida" for n in range(3)]

    for n in range(3, 9):
        fake.add_mention(f"Bache {n} en la avenida")
    after = connector(fake, page_size=5)   # the process restarted
    resumed = await after.fetch(http, taken.cursor)

    assert texts(resumed) == [f"Bache {n} en la avenida" for n in range(3, 9)]
    again = await after.fetch(http, resumed.cursor)
    assert again.messages == [] and again.cursor == resumed.cursor


async def test_a_walk_cut_by_the_page_bound_goes_on_next_time(
        fake: FakeX, http: aiohttp.ClientSession) -> None:
    x = connector(fake, page_size=5, max_pages=2)
    cursor = (await x.fetch(http, None)).cursor
    posted = [f"Incidencia {n} en el alumbrado" for n in range(13)]
    for text in posted:
        fake.add_mention(text)

    first = await x.fetch(http, cursor)
    assert first.more and texts(first) == posted[3:]
    assert first.cursor is not None and json.loads(first.cursor)["since"] == cursor
    second = await connector(fake, page_size=5, max_pages=2).fetch(http, first.cursor)
    assert not second.more and texts(second) == posted[:3]
    assert second.cursor == first.messages[-1].external_id
    assert (await x.fetch(http, second.cursor)).messages == []


async def test_a_stale_pagination_token_walks_again(fake: FakeX,
                                                    http: aiohttp.ClientSession) -> None:
    x = connector(fake, page_size=5)
    cursor = (await x.fetch(http, None)).cursor
    assert cursor is not None
    fake.add_mention("Un árbol caído bloquea la acera")
    stale = json.dumps({"since": cursor, "newest": "1999999999999999999", "next": "gone"})
    batch = await x.fetch(http, stale)
    assert texts(batch) == ["Un árbol caído bloquea la acera"]
    assert batch.cursor == batch.messages[0].external_id


async def test_a_malformed_post_is_skipped_and_counted(
        fake: FakeX, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    x = connector(fake)
    cursor = (await x.fetch(http, None)).cursor
    fake.add_mention("Antes: el parque está muy limpio")
    author = fake.add_user("sin_fecha")
    fake.add_raw({"text": "sin fecha", "author_id": author, "lang": "es"})
    fake.add_raw({"text": "autor desconocido", "author_id": "42",
                  "created_at": "2026-03-10T09:30:00.000Z"})
    fake.add_raw({"text": "fecha rota", "author_id": author, "created_at": "ayer"})
    fake.add_raw({"text": 7, "author_id": author, "created_at": "2026-03-10T09:31:00.000Z"})
    fake.add_mention("Después: gracias por la información")

    with caplog.at_level(logging.DEBUG):
        batch = await x.fetch(http, cursor)

    assert texts(batch) == ["Antes: el parque está muy limpio",
                            "Después: gracias por la información"]
    assert batch.skipped == 4
    assert "skipped" in caplog.text
    assert fake.bearer_token not in caplog.text and fake.bearer_token not in repr(x)


async def test_429_is_rate_limited_with_the_wait_from_the_headers(
        fake: FakeX, http: aiohttp.ClientSession) -> None:
    x = connector(fake)
    cursor = (await x.fetch(http, None)).cursor
    fake.reset_at = int(NOW.timestamp()) + 120
    fake.rate_limited = True
    with pytest.raises(RateLimited) as raised:
        await x.fetch(http, cursor)
    assert raised.value.retry_after == pytest.approx(120)


async def test_a_window_spent_mid_walk_keeps_the_rest_for_later(
        fake: FakeX, http: aiohttp.ClientSession) -> None:
    x = connector(fake, page_size=5)
    cursor = (await x.fetch(http, None)).cursor
    posted = [f"Queja {n}: ruido de obras de noche" for n in range(8)]
    for text in posted:
        fake.add_mention(text)
    fake.remaining = 1   # one page, then the window is spent
    fake.reset_at = int(NOW.timestamp()) + 900

    first = await x.fetch(http, cursor)
    assert texts(first) == posted[3:] and not first.more
    with pytest.raises(RateLimited) as raised:
        await x.fetch(http, first.cursor)
    assert raised.value.retry_after == pytest.approx(900)
    fake.remaining = 450
    second = await x.fetch(http, first.cursor)
    assert texts(second) == posted[:3]
    assert (await x.fetch(http, second.cursor)).messages == []


async def test_a_server_error_is_a_connector_error(fake: FakeX,
                                                   http: aiohttp.ClientSession) -> None:
    x = connector(fake)
    cursor = (await x.fetch(http, None)).cursor
    fake.fail_status = 503
    with pytest.raises(ConnectorError) as raised:
        await x.fetch(http, cursor)
    assert type(raised.value) is ConnectorError and "503" in str(raised.value)


async def test_an_unreachable_api_is_a_connector_error(http: aiohttp.ClientSession) -> None:
    x = XConnector("1", "token", api=f"http://127.0.0.1:{closed_port()}", clock=lambda: NOW)
    with pytest.raises(ConnectorError) as raised:
        await x.fetch(http, "1800000000000000000")
    assert type(raised.value) is ConnectorError


async def test_a_wrong_token_is_not_authorised(fake: FakeX,
                                               http: aiohttp.ClientSession) -> None:
    x = XConnector(fake.user_id, "not-the-token", api=fake.api, clock=lambda: NOW)
    with pytest.raises(NotAuthorised):
        await x.fetch(http, None)
