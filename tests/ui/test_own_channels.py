"""Staff's own channels page: their channels with secrets masked and the delivery log's
last word on each, and "send me a test" against a real loopback receiver, once a
minute at most."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.web.keys import policy_key
from tests.conftest import Client
from tests.receivers import JsonReceiver
from tests.ui.conftest import sign_in_as
from tests.ui.test_admin import (  # noqa: F401 (the fixture: a secrets file)
    SECRET,
    _audit,
    _set_channels,
    settings,
)


async def test_staff_see_and_test_their_own_channels(
        client: Client, engine: AsyncEngine, receiver: JsonReceiver) -> None:
    _set_channels(client, "antonio", [
        receiver.url("first"), receiver.url("second", userinfo="guardian:{env:HOOK_PASSWORD}@")])
    token = await sign_in_as(client, engine, "antonio")
    page = await (await client.get("/channels")).text()
    assert "Tus canales" in page and "json://guardian:***@127.0.0.1" in page
    assert SECRET not in page and "Aún sin usar" in page
    tested = await client.post("/channels/test", data={"csrf_token": token})
    text = await tested.text()
    assert tested.status == 200 and text.count("Ha funcionado") == 2
    assert [p.path for p in receiver.posts] == ["/first", "/second"]
    assert SECRET not in text
    assert await _audit(engine, "channels.test") == [
        ("person:antonio", "person:antonio", {"ok": 2, "failed": 0})]
    # Once a minute: a second test at once is refused and sends nothing.
    again = await client.post("/channels/test", data={"csrf_token": token})
    assert again.status == 429 and "hace menos de un minuto" in await again.text()
    assert int(again.headers["Retry-After"]) == 60 and len(receiver.posts) == 2
    # Without the session's token nothing is sent.
    assert (await client.post("/channels/test", data={})).status == 403
    assert len(receiver.posts) == 2


async def test_someone_without_channels_is_told_whom_to_ask(
        client: Client, engine: AsyncEngine) -> None:
    staff = client.app[policy_key].directory / "staff.yaml"
    text = staff.read_text(encoding="utf-8")
    start = text.index("  - id: jose\n")
    block = text[start:text.index("  - id: ", start + 1)]
    bare = re.sub(r"    channels:\n(?:      - .*\n)+", "    channels: []\n", block)
    staff.write_text(text.replace(block, bare), encoding="utf-8")
    assert client.app[policy_key].reload()
    token = await sign_in_as(client, engine, "jose")
    page = await (await client.get("/channels")).text()
    assert "No tienes canales" in page and "Envíame una prueba" not in page
    refused = await client.post("/channels/test", data={"csrf_token": token})
    assert refused.status == 422
