"""The Telegram connector against a fake Bot API on loopback (tests/fakes/telegram.py):
getUpdates long polling, the cursor across restarts, Telegram's errors, and the webhook's
secret token."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from guardian.connectors.base import ConnectorError, NotAuthorised, RateLimited
from guardian.connectors.telegram import (
    TelegramConnector,
    messages_from_update,
    telegram_webhook_authentic,
)
from tests.fakes.telegram import USER, FakeTelegram
from tests.receivers import closed_port, wait_until

GROUP = {"id": -100123456, "type": "supergroup", "title": "Vecinos del barrio"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def connector(fake: FakeTelegram, timeout: int = 1, token: str | None = None
              ) -> TelegramConnector:
    return TelegramConnector(fake.token if token is None else token, api=fake.api,
                             timeout=timeout)


async def test_the_first_run_starts_from_now(fake: FakeTelegram,
                                             session: aiohttp.ClientSession) -> None:
    fake.add_message("Mensaje de la semana pasada")
    old = fake.add_message("Otro mensaje antiguo")
    tg = connector(fake)

    first = await tg.fetch(session, None)

    assert first.messages == [] and first.skipped == 0
    assert first.cursor == str(old["update_id"] + 1)
    assert fake.requests[0]["offset"] == -1 and fake.requests[0]["timeout"] == 0
    assert fake.requests[0]["allowed_updates"] == ["message"]
    new = fake.add_message("La farola de la calle Real no funciona")
    second = await tg.fetch(session, first.cursor)
    assert [m.text for m in second.messages] == ["La farola de la calle Real no funciona"]
    assert second.cursor == str(new["update_id"] + 1)


async def test_a_first_run_on_an_empty_queue_misses_nothing_that_follows(
        fake: FakeTelegram, session: aiohttp.ClientSession) -> None:
    tg = connector(fake)
    first = await tg.fetch(session, None)
    assert first.messages == [] and first.cursor == "0"
    fake.add_message("¿A qué hora abre el registro?")
    second = await tg.fetch(session, first.cursor)
    assert [m.text for m in second.messages] == ["¿A qué hora abre el registro?"]


async def test_updates_are_mapped_field_by_field(fake: FakeTelegram,
                                                 session: aiohttp.ClientSession) -> None:
    text = "Hola @ayto_villa 👋 y @concejal_obras: la farola de la calle Real no funciona"
    private = fake.add_message(
        text, date=1_780_000_000,
        entities=[{"type": "mention", "offset": 5, "length": len("@ayto_villa")},
                  # Telegram counts UTF-16 units: the emoji before this one takes two.
                  {"type": "mention", "offset": text.index("@concejal") + 1,
                   "length": len("@concejal_obras")},
                  {"type": "bold", "offset": 0, "length": 4}],
        reply_to_message={"message_id": 12, "chat": USER, "date": 1_779_999_000,
                          "text": "Gracias por avisar"})
    no_username = {"id": 5550002, "is_bot": False, "first_name": "Andrés"}
    group = fake.add_message(None, user=no_username, chat=GROUP, date=1_780_000_060,
                             photo=[{"file_id": "x", "width": 1, "height": 1}],
                             caption="Foto del bache en la plaza")
    tg = connector(fake)

    batch = await tg.fetch(session, "0")

    assert batch.skipped == 0 and not batch.more
    assert batch.cursor == str(group["update_id"] + 1)
    first, second = batch.messages
    assert first.source == "telegram"
    assert first.external_id == f"5550001:{private['message']['message_id']}"
    assert first.author.handle == "@lucia_vecina"
    assert first.author.name == "Lucía Pérez"
    assert first.text == text
    assert first.created_at == dt.datetime(2026, 5, 28, 20, 26, 40, tzinfo=dt.UTC)
    assert first.created_at == dt.datetime.fromtimestamp(1_780_000_000, dt.UTC)
    assert first.mentions == ["@ayto_villa", "@concejal_obras"]
    assert first.in_reply_to == "5550001:12"
    assert first.url is None
    assert first.lang == "es"
    assert second.external_id == f"-100123456:{group['message']['message_id']}"
    assert second.author.handle == "tg:5550002"
    assert second.author.name == "Andrés"
    assert second.text == "Foto del bache en la plaza"
    assert second.created_at == dt.datetime.fromtimestamp(1_780_000_060, dt.UTC)
    assert second.in_reply_to is None and second.lang is None and second.mentions == []


async def test_long_polling_returns_as_soon_as_a_message_arrives(
        fake: FakeTelegram, session: aiohttp.ClientSession) -> None:
    tg = connector(fake, timeout=10)
    started = time.monotonic()
    fetching = asyncio.create_task(tg.fetch(session, "0"))
    await wait_until(lambda: len(fake.requests) == 1, what="the long poll reaching the API")
    await asyncio.sleep(0.1)  # the request is now held by the server
    assert not fetching.done()
    fake.add_message("¿Cuándo pasa el camión de la basura?")

    batch = await asyncio.wait_for(fetching, 5)

    assert time.monotonic() - started < 3
    assert [m.text for m in batch.messages] == ["¿Cuándo pasa el camión de la basura?"]
    assert fake.requests[0]["timeout"] == 10


async def test_a_quiet_long_poll_returns_nothing_and_keeps_the_cursor(
        fake: FakeTelegram, session: aiohttp.ClientSession) -> None:
    batch = await connector(fake, timeout=1).fetch(session, "700005")
    assert batch.messages == [] and batch.cursor == "700005" and batch.skipped == 0


async def test_a_restart_with_the_stored_cursor_loses_none_and_repeats_none(
        fake: FakeTelegram, session: aiohttp.ClientSession) -> None:
    stored: list[str] = []  # what the engine stored, in order
    cursor = (await connector(fake).fetch(session, None)).cursor
    for text in ("Primera queja", "Segunda queja"):
        fake.add_message(text)
    batch = await connector(fake).fetch(session, cursor)
    stored += [m.external_id for m in batch.messages]
    cursor = batch.cursor

    # A crash after fetching but before storing: the next process refetches the same.
    fake.add_message("Tercera queja")
    lost = await connector(fake).fetch(session, cursor)
    assert [m.text for m in lost.messages] == ["Tercera queja"]
    fake.add_message("Cuarta queja")
    # A new connector, as after a restart, given the cursor stored before the crash.
    batch = await connector(fake).fetch(session, cursor)
    assert [m.text for m in batch.messages] == ["Tercera queja", "Cuarta queja"]
    stored += [m.external_id for m in batch.messages]
    cursor = batch.cursor
    fake.add_message("Quinta queja")
    batch = await connector(fake).fetch(session, cursor)
    stored += [m.external_id for m in batch.messages]

    assert len(stored) == len(set(stored)) == 5
    assert stored == [f"5550001:{n}" for n in range(41, 46)]  # every one, in order


async def test_flood_control_raises_rate_limited_with_telegrams_wait(
        fake: FakeTelegram, session: aiohttp.ClientSession) -> None:
    fake.flood_retry_after = 17
    with pytest.raises(RateLimited) as raised:
        await connector(fake).fetch(session, "0")
    assert raised.value.retry_after == 17
    assert "429" in str(raised.value)


async def test_a_wrong_token_is_not_authorised_and_never_shown(
        fake: FakeTelegram, session: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "987654:WRONG-token-that-must-stay-secret"
    with pytest.raises(NotAuthorised) as raised:
        await connector(fake, token=wrong).fetch(session, "0")
    assert "401" in str(raised.value)
    assert wrong not in str(raised.value) and wrong not in repr(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None
    assert all(wrong not in r.getMessage() for r in caplog.records)
    assert fake.requests == []


async def test_an_unreachable_api_hides_the_token(
        session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "555:unreachable-secret-token"
    tg = TelegramConnector(token, api=f"http://127.0.0.1:{closed_port()}", timeout=1)
    with pytest.raises(ConnectorError) as raised:
        await tg.fetch(session, "0")
    assert type(raised.value) is ConnectorError
    assert token not in str(raised.value) and "ClientConnectorError" in str(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None
    assert all(token not in r.getMessage() for r in caplog.records)


async def test_a_webhook_set_for_the_bot_is_explained(
        fake: FakeTelegram, session: aiohttp.ClientSession) -> None:
    fake.webhook_set = True
    with pytest.raises(ConnectorError) as raised:
        await connector(fake).fetch(session, "0")
    assert type(raised.value) is ConnectorError
    assert "409" in str(raised.value) and "deleteWebhook" in str(raised.value)


async def test_a_malformed_update_is_skipped_and_counted(
        fake: FakeTelegram, session: aiohttp.ClientSession) -> None:
    fake.add_message("Antes del error")
    fake.add_malformed()
    fake.add_message(None, sticker={"file_id": "s"})        # no text: not an error
    fake.add_update({"edited_message": {"message_id": 1}})  # another kind: not an error
    last = fake.add_message("Después del error")

    batch = await connector(fake).fetch(session, "0")

    assert [m.text for m in batch.messages] == ["Antes del error", "Después del error"]
    assert batch.skipped == 1
    assert batch.cursor == str(last["update_id"] + 1)
    # The malformed update is confirmed with the rest: it does not come back.
    again = await connector(fake).fetch(session, batch.cursor)
    assert again.messages == [] and again.skipped == 0


def test_the_webhook_secret_token_is_checked() -> None:
    secret = "s3cr3t_Token-for-the-webhook"
    assert telegram_webhook_authentic({"X-Telegram-Bot-Api-Secret-Token": secret}, secret)
    assert telegram_webhook_authentic({"x-telegram-bot-api-secret-token": secret}, secret)
    assert not telegram_webhook_authentic({"X-Telegram-Bot-Api-Secret-Token": "other"},
                                          secret)
    assert not telegram_webhook_authentic({"X-Telegram-Bot-Api-Secret-Token": "sécret"},
                                          secret)
    assert not telegram_webhook_authentic({}, secret)
    assert not telegram_webhook_authentic({"X-Telegram-Bot-Api-Secret-Token": ""}, "")


def test_a_webhook_update_gives_the_same_messages_as_polling() -> None:
    update = {"update_id": 9, "message": {
        "message_id": 3, "from": USER, "chat": GROUP, "date": 1_780_000_000,
        "text": "Buenos días, ¿hay cita para el padrón?"}}
    messages, malformed = messages_from_update(update)
    assert malformed == 0
    assert [(m.external_id, m.author.handle) for m in messages] == [
        ("-100123456:3", "@lucia_vecina")]
    assert messages_from_update({"message": update["message"]}) == ([], 1)
    assert messages_from_update({"update_id": 10, "message": "nonsense"}) == ([], 1)
    assert messages_from_update({"update_id": 11, "channel_post": {}}) == ([], 0)
