"""POST /api/v1/messages: persisted before 202, idempotent, and every bad input refused."""

from __future__ import annotations

import asyncio
import io
import json

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.messages import messages_table
from guardian.types import Role
from tests.conftest import Client, bearer, message


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages_table)))
                   .scalar_one())


async def test_one_message_is_stored_before_202(client: Client, tokens: dict[Role, str],
                                                engine: AsyncEngine) -> None:
    response = await client.post("/api/v1/messages", json=message("100"),
                                 headers=bearer(tokens[Role.ingest]))
    assert response.status == 202
    body = await response.json()
    assert body["ids"] == [body["messages"][0]["id"]]
    assert body["messages"][0] == {"id": body["ids"][0], "source": "twitter",
                                   "external_id": "100", "duplicate": False}
    async with engine.connect() as conn:
        row = (await conn.execute(select(messages_table))).mappings().one()
    assert row["id"] == body["ids"][0]
    assert row["stage"] == "received"
    assert row["author_handle"] == "@vecina"
    assert row["mentions"] == ["@antonio_luz"]
    # Stored in UTC, aware, on both databases.
    assert row["created_at"].utcoffset().total_seconds() == 0
    assert row["created_at"].isoformat() == "2026-11-25T21:48:00+00:00"


async def test_a_list_is_stored_in_order(client: Client, tokens: dict[Role, str],
                                         engine: AsyncEngine) -> None:
    batch = [message(str(i)) for i in range(10)]
    response = await client.post("/api/v1/messages", json=batch,
                                 headers=bearer(tokens[Role.ingest]))
    assert response.status == 202
    body = await response.json()
    assert [m["external_id"] for m in body["messages"]] == [str(i) for i in range(10)]
    assert len(set(body["ids"])) == 10
    assert await _count(engine) == 10


async def test_repeat_answers_the_same_id_and_creates_nothing(
        client: Client, tokens: dict[Role, str], engine: AsyncEngine) -> None:
    headers = bearer(tokens[Role.ingest])
    first = await (await client.post("/api/v1/messages", json=message("7"),
                                     headers=headers)).json()
    again = await client.post("/api/v1/messages", json=message("7", text="edited later"),
                              headers=headers)
    assert again.status == 202
    body = await again.json()
    assert body["ids"] == first["ids"]
    assert body["messages"][0]["duplicate"] is True
    mixed = await (await client.post("/api/v1/messages",
                                     json=[message("7"), message("8"), message("8")],
                                     headers=headers)).json()
    assert [m["duplicate"] for m in mixed["messages"]] == [True, False, True]
    assert mixed["ids"][0] == first["ids"][0]
    assert mixed["ids"][1] == mixed["ids"][2]
    assert await _count(engine) == 2


async def test_concurrent_repeats_store_one_row(client: Client, tokens: dict[Role, str],
                                                engine: AsyncEngine) -> None:
    headers = bearer(tokens[Role.ingest])
    responses = await asyncio.gather(*(
        client.post("/api/v1/messages", json=message("same"), headers=headers)
        for _ in range(8)))
    assert {r.status for r in responses} == {202}
    ids = {(await r.json())["ids"][0] for r in responses}
    assert len(ids) == 1
    assert await _count(engine) == 1


async def test_same_external_id_from_another_source_is_another_message(
        client: Client, tokens: dict[Role, str], engine: AsyncEngine) -> None:
    headers = bearer(tokens[Role.ingest])
    a = await (await client.post("/api/v1/messages", json=message("1"), headers=headers)).json()
    b = await (await client.post("/api/v1/messages", json=message("1", source="mastodon"),
                                 headers=headers)).json()
    assert a["ids"] != b["ids"]
    assert await _count(engine) == 2


async def _refused(client: Client, token: str, status: int, *, field: str | None = None,
                   raw: bytes | None = None, payload: object = None,
                   content_type: str = "application/json") -> dict[str, object]:
    data = io.BytesIO(raw if raw is not None else json.dumps(payload).encode())
    response = await client.post("/api/v1/messages", data=data,
                                 headers={**bearer(token), "Content-Type": content_type})
    assert response.status == status, await response.text()
    body = await response.json()
    error = body["error"]
    assert error["status"] == status
    assert error["message"].endswith(".")
    if field is not None:
        assert field in [e["field"] for e in error["errors"]], error
    return dict(error)


async def test_bad_input_gets_a_clear_error_and_stores_nothing(
        client: Client, tokens: dict[Role, str], engine: AsyncEngine) -> None:
    token = tokens[Role.ingest]
    error = await _refused(client, token, 400, raw=b'{"source": "twitter",', field="body")
    assert "line 1" in str(error["message"])
    await _refused(client, token, 400, raw=b"\xff\xfe", field="body")
    await _refused(client, token, 415, raw=b"source=twitter",
                   content_type="application/x-www-form-urlencoded")
    await _refused(client, token, 422, payload="just a string", field="body")
    await _refused(client, token, 422, payload=[], field="body")
    await _refused(client, token, 422, payload=[message("1"), 5], field="[1]")
    missing = {k: v for k, v in message().items() if k != "text"}
    await _refused(client, token, 422, payload=missing, field="text")
    await _refused(client, token, 422, payload=message(colour="red"), field="colour")
    await _refused(client, token, 422, payload=message(author={"name": "x"}),
                   field="author.handle")
    await _refused(client, token, 422, payload=message(text="   "), field="text")
    await _refused(client, token, 422, payload=message(text="a" * 5001), field="text")
    error = await _refused(client, token, 422, payload=message(created_at="2026-11-25T22:48:00"),
                           field="created_at")
    assert "time zone" in json.dumps(error)
    await _refused(client, token, 422, payload=message(created_at="yesterday"),
                   field="created_at")
    await _refused(client, token, 422, payload=message(source="Not A Source!"), field="source")
    await _refused(client, token, 422, payload=message(mentions="@x"), field="mentions")
    # One bad message in a batch refuses the batch: nothing half-stored.
    await _refused(client, token, 422, payload=[message("a"), message("b", text="")],
                   field="[1].text")
    assert await _count(engine) == 0


async def test_size_limits_answer_413(client: Client, tokens: dict[Role, str],
                                      engine: AsyncEngine) -> None:
    token = tokens[Role.ingest]
    await _refused(client, token, 413, payload=[message(str(i)) for i in range(101)],
                   field="body")
    big = json.dumps(message(text="y" * (2 * 1024 * 1024))).encode()
    error = await _refused(client, token, 413, raw=big)
    assert "1048576 bytes" in str(error["message"])
    assert await _count(engine) == 0


async def test_unknown_route_and_method_use_the_error_shape(client: Client,
                                                           tokens: dict[Role, str]) -> None:
    missing = await client.get("/api/v1/nothing-here", headers=bearer(tokens[Role.admin]))
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"
    wrong = await client.delete("/api/v1/messages", headers=bearer(tokens[Role.admin]))
    assert wrong.status == 405
    assert (await wrong.json())["error"]["code"] == "method_not_allowed"


async def test_a_moderator_reads_a_hostile_message_masked_outside_a_claim(
        client: Client, tokens: dict[Role, str], engine: AsyncEngine) -> None:
    """The raw text reaches a moderator only through a claim on its review item, counted
    against the day's exposure and audited; the message API gives the masked text."""
    posted = await client.post("/api/v1/messages", headers=bearer(tokens[Role.ingest]),
                               json=message("rude-1", text="Eres un imbécil, la farola sigue rota",
                                            url="https://social.example/p/1"))
    [stored] = (await posted.json())["messages"]
    async with engine.begin() as conn:
        await conn.execute(update(messages_table).where(messages_table.c.id == stored["id"])
                           .values(masked_text="Eres un [insulto], la farola sigue rota",
                                   harassment_level="abusive"))
    read = await client.get(f"/api/v1/messages/{stored['id']}",
                            headers=bearer(tokens[Role.moderator]))
    body = await read.json()
    assert read.status == 200 and body["text"] == "Eres un [insulto], la farola sigue rota"
    assert body["url"] is None and "imbécil" not in json.dumps(body, ensure_ascii=False)
