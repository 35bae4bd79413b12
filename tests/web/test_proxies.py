"""Behind a reverse proxy: `X-Forwarded-For` names the client only when the request
comes from a trusted proxy (GUARDIAN_TRUSTED_PROXIES); sign-in limits then count people,
not the proxy."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings, load_settings
from guardian.errors import ConfigError
from guardian.storage.accounts import MAX_FAILURES_PER_ADDRESS, attempts_table
from guardian.storage.db import utcnow
from guardian.web.app import init_app
from tests.conftest import AiohttpClient, Client, with_settings
from tests.ui.conftest import PASSWORD, accept, form_token, invite

CLIENT = "198.51.100.9"     # documentation addresses (RFC 5737)
NEIGHBOUR = "203.0.113.5"


async def _sign_in(client: Client, staff_id: str, password: str, forwarded: str) -> int:
    form = await client.get("/signin")
    answer = await client.post("/signin", data={
        "csrf_token": form_token(await form.text()), "staff_id": staff_id,
        "password": password, "next": "/"}, headers={"X-Forwarded-For": forwarded},
        allow_redirects=False)
    return answer.status


async def _addresses(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(attempts_table.c.address)
                                  .order_by(attempts_table.c.id))
    return [str(a) for a in rows.scalars()]


async def _client(aiohttp_client: AiohttpClient, settings: Settings, trusted: str) -> Client:
    proxies = tuple(t for t in trusted.split(",") if t)
    app = init_app(with_settings(settings, trusted_proxies=proxies), run_worker=False)
    return await aiohttp_client(app)


async def test_behind_a_trusted_proxy_limits_count_the_person_not_the_proxy(
        aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine) -> None:
    client = await _client(aiohttp_client, settings, "127.0.0.1")   # the test's proxy
    await accept(client, await invite(engine, "elena"))
    client.session.cookie_jar.clear()
    assert await _sign_in(client, "nadie", "wrong password", CLIENT) == 401
    assert await _addresses(engine) == [CLIENT]
    # Someone else behind the same proxy has failed many times: Elena is not locked out.
    at = utcnow() - dt.timedelta(minutes=1)
    async with engine.begin() as conn:
        await conn.execute(insert(attempts_table), [
            {"at": at, "staff_id": f"p{n}", "address": NEIGHBOUR, "ok": False}
            for n in range(MAX_FAILURES_PER_ADDRESS)])
    assert await _sign_in(client, "elena", PASSWORD, CLIENT) == 303
    client.session.cookie_jar.clear()
    assert await _sign_in(client, "elena", PASSWORD, NEIGHBOUR) == 429


@pytest.mark.parametrize("trusted", ["", "10.0.0.0/8"])
async def test_the_header_is_ignored_unless_the_peer_is_a_trusted_proxy(
        aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine,
        trusted: str) -> None:
    """Anyone could write X-Forwarded-For: from a peer that is not a trusted proxy, the
    peer's own address counts."""
    client = await _client(aiohttp_client, settings, trusted)
    assert await _sign_in(client, "nadie", "wrong password", CLIENT) == 401
    assert await _addresses(engine) == ["127.0.0.1"]


async def test_a_malformed_header_from_the_proxy_is_a_clear_400(
        aiohttp_client: AiohttpClient, settings: Settings) -> None:
    client = await _client(aiohttp_client, settings, "127.0.0.1")
    answer = await client.get("/health", headers={"X-Forwarded-For": "not-an-address"})
    assert answer.status == 400


def test_trusted_proxies_are_checked_at_start() -> None:
    base = {"GUARDIAN_SECRET_KEY": "k" * 40, "GUARDIAN_PUBLIC_URL": "https://guardian.town.test"}
    settings = load_settings({**base, "GUARDIAN_TRUSTED_PROXIES": "10.0.0.2, 172.16.0.0/12"})
    assert settings.trusted_proxies == ("10.0.0.2/32", "172.16.0.0/12")
    with pytest.raises(ConfigError, match=r"`10\.0\.0\.300` is not an IP address or network"):
        load_settings({**base, "GUARDIAN_TRUSTED_PROXIES": "10.0.0.300"})
