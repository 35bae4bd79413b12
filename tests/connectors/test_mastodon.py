"""The Mastodon connector against a fake instance that speaks the documented API
(tests/fakes/mastodon.py): the first run, every field, forward paging with `min_id`, the cursor
across restarts, malformed notifications, errors, and the streaming API that wakes the poll."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from guardian.connectors import mastodon as mastodon_module
from guardian.connectors.base import Batch, ConnectorError, NotAuthorised, RateLimited
from guardian.connectors.mastodon import MastodonConnector, plain_text
from tests.fakes.mastodon import NOTIFICATIONS, STREAM, FakeMastodon
from tests.receivers import closed_port, wait_until

# The connector's clock: a minute before the fake's first notification.
NOW = dt.datetime(2026, 3, 10, 8, 59, tzinfo=dt.UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    server = await FakeMastodon().start()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def connector(fake: FakeMastodon, token: str | None = None) -> MastodonConnector:
    return MastodonConnector(fake.instance, token or fake.access_token, clock=lambda: NOW)


def texts(batch: Batch) -> list[str]:
    """The texts without the leading `@ayto ` the fake's mentions open with."""
    return [m.text.removeprefix("@ayto ") for m in batch.messages]


async def start(mastodon: MastodonConnector, http: aiohttp.ClientSession) -> str:
    first = await mastodon.fetch(http, None)
    assert first.messages == [] and first.cursor is not None
    return first.cursor


# --- the first run ------------------------------------------------------------------------

async def test_the_first_run_starts_from_now(fake: FakeMastodon,
                                             http: aiohttp.ClientSession) -> None:
    """Old mentions are history: one request for the newest mention sets the cursor."""
    fake.add_mention("¿A qué hora abre el registro?")
    newest = fake.add_mention("Gracias por arreglar el banco del parque")
    fake.add_other("favourite")
    mastodon = connector(fake)

    first = await mastodon.fetch(http, None)

    assert first.messages == [] and first.cursor == newest["id"]
    [call] = fake.calls(NOTIFICATIONS)
    assert call.get("limit") == "1" and call.getall("types[]") == ["mention"]
    assert call.authorization == f"Bearer {fake.access_token}"
    fake.add_mention("La farola de la calle Real no funciona")
    second = await mastodon.fetch(http, first.cursor)
    assert texts(second) == ["La farola de la calle Real no funciona"]
    assert fake.calls(NOTIFICATIONS)[-1].get("min_id") == newest["id"]


async def test_the_first_run_on_a_quiet_account_starts_from_zero(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    mastodon = connector(fake)
    assert await start(mastodon, http) == "0"
    fake.add_mention("¿Hay recogida de poda esta semana?")
    batch = await mastodon.fetch(http, "0")
    assert texts(batch) == ["¿Hay recogida de poda esta semana?"]


# --- what a mention becomes ---------------------------------------------------------------

async def test_every_field_is_mapped(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    local = fake.add_mention(
        "La farola de la calle Real no funciona.\nLleva así desde el lunes.\n\n"
        "Gracias & un saludo",
        mentions=("ayto", "concejala.obras@otra.social"), display_name="Lucía")
    remote = fake.add_mention("Sigue sin luz esta noche", acct="pepa@otra.social",
                              display_name="", in_reply_to_id="109400000000000123",
                              language=None)
    direct = fake.add_mention("Le escribo en privado por el recibo del agua",
                              visibility="direct", acct="jordi@pobo.cat")
    direct["status"]["url"] = None   # some servers give only the uri

    batch = await mastodon.fetch(http, cursor)

    assert batch.skipped == 0 and not batch.more
    first, second, third = batch.messages
    assert first.source == "mastodon"
    assert first.external_id == local["status"]["id"] != local["id"]
    assert first.author.handle == "@vecina@127.0.0.1" and first.author.name == "Lucía"
    assert first.text == ("@ayto @concejala.obras La farola de la calle Real no funciona.\n"
                          "Lleva así desde el lunes.\n\nGracias & un saludo")
    assert "&amp;" in local["status"]["content"] and "<br />" in local["status"]["content"]
    assert first.created_at == dt.datetime.fromisoformat(
        local["status"]["created_at"].replace("Z", "+00:00"))
    assert first.mentions == ["@ayto@127.0.0.1", "@concejala.obras@otra.social"]
    assert first.in_reply_to is None
    assert first.url == local["status"]["url"]
    assert first.url is not None and first.url.startswith(fake.instance)
    assert first.lang == "es"

    assert second.author.handle == "@pepa@otra.social" and second.author.name is None
    assert second.in_reply_to == "109400000000000123"
    assert second.lang is None
    assert second.url == f"https://otra.social/@pepa/{remote['status']['id']}"

    assert third.author.handle == "@jordi@pobo.cat"
    assert texts(batch)[2] == "Le escribo en privado por el recibo del agua"
    assert third.url == direct["status"]["uri"]
    assert batch.cursor == direct["id"]


@pytest.mark.parametrize(("content", "expected"), [
    ("<p>Hola</p><p>Adiós</p>", "Hola\n\nAdiós"),
    ("<p>Una línea<br>otra<br />y otra</p>", "Una línea\notra\ny otra"),
    ("<p>Pan &amp; aceite &lt;3 &quot;gratis&quot;</p>", 'Pan & aceite <3 "gratis"'),
    # Someone wrote the characters "&amp;" themselves: they stay as written.
    ("<p>En HTML se escribe &amp;amp; así</p>", "En HTML se escribe &amp; así"),
    ('<p><a href="https://ejemplo.es/agenda" rel="nofollow noopener" target="_blank">'
     '<span class="invisible">https://</span><span class="">ejemplo.es/agenda</span>'
     '<span class="invisible"></span></a></p>', "https://ejemplo.es/agenda"),
])
def test_status_html_becomes_the_text_a_person_reads(content: str, expected: str) -> None:
    assert plain_text(content) == expected


# --- paging and the cursor ----------------------------------------------------------------

async def test_a_long_gap_comes_in_pages_oldest_first_none_twice(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    posted = [f"Aviso {n}: el contenedor de vidrio está lleno" for n in range(90)]
    for n, text in enumerate(posted):
        fake.add_mention(text)
        if n % 9 == 0:
            fake.add_other("reblog")

    batches = [await mastodon.fetch(http, cursor)]
    while batches[-1].more:
        assert len(batches) < 10, "the walk does not end"
        batches.append(await mastodon.fetch(http, batches[-1].cursor))

    assert batches[0].more and len(batches[0].messages) == mastodon_module.PAGE
    assert [t for b in batches for t in texts(b)] == posted
    ids = [m.external_id for b in batches for m in b.messages]
    assert len(set(ids)) == 90
    # Each fetch asked for what came immediately after the previous one's cursor.
    listed = fake.calls(NOTIFICATIONS)[1:]
    assert [c.get("min_id") for c in listed] == [cursor, *(b.cursor for b in batches[:-1])]
    assert all(c.get("limit") == str(mastodon_module.PAGE) for c in listed)
    last = await mastodon.fetch(http, batches[-1].cursor)
    assert last.messages == [] and last.cursor == batches[-1].cursor and not last.more


async def test_the_cursor_survives_a_restart(fake: FakeMastodon,
                                             http: aiohttp.ClientSession) -> None:
    """A new connector given the stored cursor gets exactly what came after it."""
    before = connector(fake)
    cursor = await start(before, http)
    fake.add_mention("Primero: bache en la avenida")
    fake.add_mention("Segundo: bache en la avenida")
    taken = await before.fetch(http, cursor)
    assert texts(taken) == ["Primero: bache en la avenida", "Segundo: bache en la avenida"]

    fake.add_mention("Tercero: el bache sigue ahí")
    fake.add_other("follow")
    fake.add_mention("Cuarto: ya lo han tapado, gracias")
    async with aiohttp.ClientSession() as fresh:   # a new process: new object, new session
        after = connector(fake)
        resumed = await after.fetch(fresh, taken.cursor)
        assert texts(resumed) == ["Tercero: el bache sigue ahí",
                                  "Cuarto: ya lo han tapado, gracias"]
        again = await after.fetch(fresh, resumed.cursor)
    assert again.messages == [] and again.cursor == resumed.cursor


async def test_ids_compare_as_numbers_across_a_change_of_length(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    """"9999" < "10000" as numbers, not as text: the cursor must not go back."""
    fake.first_id = 9_998
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    posted = [f"Consulta {n} sobre el padrón" for n in range(4)]
    ids = [fake.add_mention(text)["id"] for text in posted]

    batch = await mastodon.fetch(http, cursor)

    assert ids == ["9998", "9999", "10000", "10001"]
    assert texts(batch) == posted and batch.cursor == "10001"
    assert (await mastodon.fetch(http, batch.cursor)).messages == []


async def test_other_notifications_are_ignored_and_the_cursor_passes_them(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    """A server that ignores `types[]` (Mastodon before 3.5) sends favourites, follows and
    reblogs too: none becomes a message, none is counted as malformed, none is read twice."""
    fake.honour_types = False
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    fake.add_other("favourite")
    fake.add_mention("¿Cuándo es el pleno?")
    fake.add_other("reblog")
    last = fake.add_other("follow")

    batch = await mastodon.fetch(http, cursor)

    assert texts(batch) == ["¿Cuándo es el pleno?"] and batch.skipped == 0
    assert batch.cursor == last["id"]
    assert (await mastodon.fetch(http, batch.cursor)).messages == []


async def test_the_server_filters_by_type_when_asked(fake: FakeMastodon,
                                                     http: aiohttp.ClientSession) -> None:
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    fake.add_other("favourite")
    mention = fake.add_mention("El parque infantil tiene un columpio roto")
    fake.add_other("follow")

    batch = await mastodon.fetch(http, cursor)

    assert texts(batch) == ["El parque infantil tiene un columpio roto"]
    assert batch.cursor == mention["id"]
    assert fake.calls(NOTIFICATIONS)[-1].getall("types[]") == ["mention"]


async def test_a_malformed_notification_is_skipped_and_counted(
        fake: FakeMastodon, http: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    fake.add_mention("Antes: el parque está muy limpio")
    no_status = fake.add_mention("sin estado")
    del no_status["status"]
    bad_date = fake.add_mention("fecha rara")
    bad_date["status"]["created_at"] = "el martes por la tarde"
    naive = fake.add_mention("fecha sin zona")
    naive["status"]["created_at"] = "2026-03-10T09:00:00"
    fake.add_raw({"type": "mention", "account": "not-an-object", "status": None})
    last = fake.add_mention("Después: gracias por la información")

    with caplog.at_level(logging.DEBUG):
        batch = await mastodon.fetch(http, cursor)

    assert texts(batch) == ["Antes: el parque está muy limpio",
                            "Después: gracias por la información"]
    assert batch.skipped == 4
    assert batch.cursor == last["id"]
    assert "skipped" in caplog.text
    assert (await mastodon.fetch(http, batch.cursor)).messages == []


# --- errors -------------------------------------------------------------------------------

async def test_429_is_rate_limited_with_the_wait_from_retry_after(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    fake.rate_limited = True
    fake.retry_after = 90
    fake.reset_at = NOW + dt.timedelta(seconds=60)
    with pytest.raises(RateLimited) as raised:
        await mastodon.fetch(http, cursor)
    assert raised.value.retry_after == pytest.approx(90)


async def test_429_is_rate_limited_until_mastodons_iso_reset(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    """Mastodon's own 429 names the window's end in `X-RateLimit-Reset` (ISO 8601)."""
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    fake.rate_limited = True
    fake.reset_at = NOW + dt.timedelta(seconds=240)
    with pytest.raises(RateLimited) as raised:
        await mastodon.fetch(http, cursor)
    assert raised.value.retry_after == pytest.approx(240)
    fake.rate_limited, fake.remaining = False, 300
    fake.add_mention("Ya funciona la fuente")
    assert texts(await mastodon.fetch(http, cursor)) == ["Ya funciona la fuente"]


async def test_a_server_error_is_a_connector_error(fake: FakeMastodon,
                                                   http: aiohttp.ClientSession) -> None:
    mastodon = connector(fake)
    cursor = await start(mastodon, http)
    fake.add_mention("Se ha caído una rama en el paseo")
    fake.fail_status, fake.fail_times = 503, 1
    with pytest.raises(ConnectorError) as raised:
        await mastodon.fetch(http, cursor)
    assert type(raised.value) is ConnectorError and "503" in str(raised.value)
    # Nothing was lost: the same cursor brings the mention once the server is back.
    assert texts(await mastodon.fetch(http, cursor)) == ["Se ha caído una rama en el paseo"]


async def test_an_unreachable_instance_is_a_connector_error(
        http: aiohttp.ClientSession) -> None:
    mastodon = MastodonConnector(f"http://127.0.0.1:{closed_port()}", "tok", clock=lambda: NOW)
    with pytest.raises(ConnectorError) as raised:
        await mastodon.fetch(http, None)
    assert type(raised.value) is ConnectorError


async def test_a_wrong_token_is_not_authorised_and_never_shown(
        fake: FakeMastodon, http: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    wrong = "mtdn-WrongWrongWrong0123456789abcdef"
    mastodon = connector(fake, token=wrong)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(NotAuthorised) as polled:
            await mastodon.fetch(http, None)
        with pytest.raises(NotAuthorised) as streamed:
            await mastodon.listen(http, lambda: None)
    assert [c.authorization for c in fake.requests] == [f"Bearer {wrong}"] * 2
    for error in (polled.value, streamed.value):
        assert wrong not in str(error) and wrong not in repr(error)
    assert wrong not in caplog.text
    assert all(wrong not in str(r.args) for r in caplog.records)
    assert wrong not in repr(mastodon)


# --- the stream ---------------------------------------------------------------------------

async def test_the_stream_wakes_the_poll_at_each_mention(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.heartbeat_seconds = 0.02
    mastodon = connector(fake)
    woken: list[None] = []
    listening = asyncio.create_task(mastodon.listen(http, lambda: woken.append(None)))
    await fake.wait_for_streams(1)
    [call] = fake.calls(STREAM)
    assert call.authorization == f"Bearer {fake.access_token}"

    fake.add_other("favourite")
    fake.add_mention("La biblioteca cierra pronto hoy")
    await wait_until(lambda: len(woken) >= 1, what="a wake for the mention")
    await asyncio.sleep(0.1)   # heartbeats go by
    assert len(woken) == 1
    fake.add_other("follow")
    fake.add_mention("Gracias por la respuesta", visibility="direct")
    await wait_until(lambda: len(woken) >= 2, what="a wake for the second mention")

    fake.close_streams()
    await asyncio.wait_for(listening, 5)   # returns: the stream ended, no error
    assert len(woken) == 2 and fake.open_streams == 0


async def test_a_favourite_alone_does_not_wake(fake: FakeMastodon,
                                               http: aiohttp.ClientSession) -> None:
    fake.heartbeat_seconds = 0.01
    mastodon = connector(fake)
    woken: list[None] = []
    listening = asyncio.create_task(mastodon.listen(http, lambda: woken.append(None)))
    await fake.wait_for_streams(1)
    fake.add_other("favourite")
    fake.add_other("reblog")
    await asyncio.sleep(0.1)
    fake.close_streams()
    await asyncio.wait_for(listening, 5)
    assert woken == []


async def test_backfill_walks_back_to_an_instant_then_carries_on(
        fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    """`backfill --since` gives a `since:` cursor (ids are a sequence, not times): the
    mentions from that instant on come oldest first, across pages, and then the feed
    carries on from the newest, none twice."""
    mastodon = connector(fake)
    made = [fake.add_mention(f"Aviso número {n}") for n in range(50)]
    since = dt.datetime.fromisoformat(made[5]["created_at"].replace("Z", "+00:00"))
    back = await mastodon.fetch(http, f"since:{since.isoformat()}")
    assert texts(back) == [f"Aviso número {n}" for n in range(5, 50)]
    assert back.cursor == made[-1]["id"]
    fake.add_mention("Una más")
    after = await mastodon.fetch(http, back.cursor)
    assert texts(after) == ["Una más"]
    # An instant after everything: nothing to read again, and the feed goes on from now.
    later = await mastodon.fetch(http, f"since:{dt.datetime.now(dt.UTC).isoformat()}")
    assert later.messages == [] and later.cursor is not None
