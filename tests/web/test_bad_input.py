"""No input gives a server error: NUL and unpaired surrogates in any field, query or path
are refused with a sentence naming where (and nothing of the batch is stored); JSON nested
past any request's shape is 400; digits that are not ASCII are not ids; instants outside
the years Guardian takes are 422, never an overflow."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.messages import messages_table
from guardian.types import Role
from tests.conftest import Client, bearer, message


async def _stored(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages_table)))
                   .scalar_one())


async def _error(response: Any, status: int) -> dict[str, Any]:
    body = dict(await response.json())
    assert response.status == status, body
    assert body["error"]["message"]  # one sentence, always
    return body


@pytest.mark.parametrize("field", ["text", "author", "external_id", "lang"])
@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\udfff"])
async def test_nul_and_lone_surrogates_are_refused_and_the_batch_is_kept_whole(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str], field: str,
        bad: str) -> None:
    item = message("bad")
    if field == "author":
        item["author"] = {"handle": f"@a{bad}b"}
    else:
        item[field] = f"x{bad}y"
    batch = [message("good"), item]
    response = await client.post("/api/v1/messages", json=batch,
                                 headers=bearer(tokens[Role.ingest]))
    body = await _error(response, 422)
    assert body["error"]["errors"][0]["field"].startswith("[1]")
    assert await _stored(engine) == 0


async def test_deep_json_is_400(client: Client, tokens: dict[Role, str]) -> None:
    deep = "[" * 1000 + "]" * 1000
    response = await client.post("/api/v1/messages", data=deep,
                                 headers={**bearer(tokens[Role.ingest]),
                                          "Content-Type": "application/json"})
    assert "nests" in (await _error(response, 400))["error"]["message"]
    # Brackets inside a text are text, not nesting.
    fine = await client.post("/api/v1/messages", json=message("b", text="[" * 200),
                             headers=bearer(tokens[Role.ingest]))
    assert fine.status == 202


@pytest.mark.parametrize("path", ["/api/v1/messages/³", "/api/v1/pages/٣",
                                  "/api/v1/review/²", "/api/v1/notifications/¹"])
async def test_digits_that_are_not_ascii_are_not_ids(client: Client, tokens: dict[Role, str],
                                                     path: str) -> None:
    response = await client.get(path, headers=bearer(tokens[Role.admin]))
    assert response.status in (404, 422), await response.text()


async def test_nul_in_a_query_or_path_is_400_before_anything_reads_it(
        client: Client, tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    await _error(await client.get("/api/v1/overrides?team=%00", headers=hr), 400)
    await _error(await client.get("/api/v1/pages?status=open%00", headers=hr), 400)
    await _error(await client.get("/api/v1/notifications/1%00", headers=hr), 400)


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                                  "1900-01-01T00:00:00Z"])
async def test_instants_outside_the_years_taken_are_422(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str], when: str) -> None:
    response = await client.post("/api/v1/messages", json=message("d", created_at=when),
                                 headers=bearer(tokens[Role.ingest]))
    assert "years" in (await _error(response, 422))["error"]["message"]
    listed = await client.get(f"/api/v1/overrides?from={when.replace('+', '%2B')}",
                              headers=bearer(tokens[Role.hr]))
    await _error(listed, 422)
    assert await _stored(engine) == 0


@pytest.mark.parametrize("path", ["/ical/team/x/%C3%A9.ics", "/ical/team/%C3%A9/x.ics",
                                  "/ical/person/x/%00.ics"])
async def test_a_calendar_link_with_odd_characters_is_a_plain_refusal(
        client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status in (400, 404), await response.text()


async def test_every_operation_documents_the_400_of_a_bad_url(
        client: Client, tokens: dict[Role, str]) -> None:
    document = await (await client.get("/api/v1/openapi.json",
                                       headers=bearer(tokens[Role.admin]))).json()
    missing = [f"{method.upper()} {path}" for path, item in document["paths"].items()
               for method, operation in item.items() if "400" not in operation["responses"]]
    assert missing == []
