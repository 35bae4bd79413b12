"""`POST /api/v1/policy/what-if` through the real app: HR's changed files checked as
`guardian policies check` checks them, the last days of stored traffic replayed under both
policies (each in a process of its own), the difference as JSON; bad files answered in the
API's error shape, naming FILE:LINE, with nothing replayed."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp import FormData
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy_files.overlay import MAX_FILE_BYTES
from guardian.schemas import MessageIn
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.types import Role
from guardian.web.whatif import Running
from tests.conftest import POLICIES, Client, bearer

URL = "/api/v1/policy/what-if"
ROOMS = "    members: [maria]\n    lead: maria\n"
# A room booking with an insult: staff read it masked; the raw text is never shown.
RAW = "Sois unos cabezas de chorlito, quiero reservar la sala del centro cívico"
MASKED = "Sois unos [insulto], quiero reservar la sala del centro cívico"


# The replays through HTTP spawn two processes each (seconds): on SQLite only. Reading the
# stored traffic on PostgreSQL is tests/engine/test_whatif.py's and tests/cli/test_whatif.py's.
ON_SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def rooms_to_elena() -> str:
    """teams.yaml with Elena, not María, taking the room bookings: every booking moves
    from María to Elena (the same hours but Thursday evening)."""
    teams = (POLICIES / "teams.yaml").read_text(encoding="utf-8")
    assert ROOMS in teams
    return teams.replace(ROOMS, "    members: [elena]\n    lead: elena\n")


async def booking(engine: AsyncEngine, *, hours_ago: int = 20) -> int:
    """A room booking received `hours_ago`, stored as scored: the masked text kept."""
    received = utcnow() - dt.timedelta(hours=hours_ago)
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, now=received, messages=[
            MessageIn.model_validate({
                "source": "twitter", "external_id": "sala-1", "author": {"handle": "@vecina"},
                "text": RAW, "created_at": received.isoformat()})])
        await conn.execute(update(messages_table).where(messages_table.c.id == stored.id)
                           .values(masked_text=MASKED, harassment_level="abusive"))
    return stored.id


@ON_SQLITE
async def test_hr_sees_the_difference(client: Client, engine: AsyncEngine,
                                      tokens: dict[Role, str]) -> None:
    ident = await booking(engine)
    response = await client.post(URL, headers=bearer(tokens[Role.hr]), json={
        "files": {"teams.yaml": rooms_to_elena()}, "days": 2})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["changed"] and not body["same_policy"]
    assert body["replayed"] == {"messages": 1, "acks": 0, "overrides": 0}
    assert body["files"] == {"replaced": ["teams.yaml"], "added": []}
    people = {p["person"]: p for p in body["people"]}
    assert people["maria"]["contacts"] == {"old": 1, "new": 0}
    assert people["elena"]["contacts"] == {"old": 0, "new": 1}
    assert body["totals"]["contacts"] == {"old": 1, "new": 1}
    [message] = body["messages"]
    assert message["message"] == str(ident)
    assert [t["person"] for t in message["old"]] == ["maria"]
    assert [t["person"] for t in message["new"]] == ["elena"]
    assert message["old_route"]["team"] == "rooms" == message["new_route"]["team"]
    # As staff read it: masked, never the raw text.
    assert message["stored"]["text"] == MASKED and RAW not in await response.text()


async def test_files_that_change_nothing_replay_nothing(client: Client, engine: AsyncEngine,
                                                        tokens: dict[Role, str]) -> None:
    await booking(engine)
    form = FormData()
    form.add_field("files", (POLICIES / "teams.yaml").read_bytes(), filename="teams.yaml",
                   content_type="application/x-yaml")
    form.add_field("days", "1")
    response = await client.post(URL, headers=bearer(tokens[Role.hr]), data=form)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["same_policy"] and not body["changed"] and body["people"] == []
    assert body["period"]["days"] == 1 and body["replayed"]["messages"] == 1


async def test_bad_files_are_refused_with_where(client: Client,
                                                tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    teams = (POLICIES / "teams.yaml").read_text(encoding="utf-8")
    broken = teams.replace(ROOMS, ROOMS + "    colour: blue\n")
    response = await client.post(URL, headers=hr, json={"files": {"teams.yaml": broken}})
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "invalid_policy" and "nothing was replayed" in error["message"]
    [field] = error["errors"]
    line = broken.splitlines().index("    colour: blue") + 1
    assert field["field"] == f"teams.yaml:{line}"
    assert "`colour` is not a known field" in field["message"]
    # Not YAML at all, as multipart: the file and its line.
    form = FormData()
    form.add_field("files", b"teams:\n  - id: [unclosed\n", filename="teams.yaml")
    response = await client.post(URL, headers=hr, data=form)
    assert response.status == 422
    assert (await response.json())["error"]["errors"][0]["field"].startswith("teams.yaml:")
    # Names with folders, or not YAML's, and days out of range.
    for files, days in (({"../staff.yaml": "staff: []"}, 7), ({"notes.txt": ""}, 7),
                        ({}, 7), ({"staff.yaml": ""}, 29)):
        refused = await client.post(URL, headers=hr, json={"files": files, "days": days})
        assert refused.status == 422, files
    # Too big: 413, nothing read.
    big = "# " + "x" * MAX_FILE_BYTES + "\n"
    too_big = await client.post(URL, headers=hr, json={"files": {"staff.yaml": big}})
    assert too_big.status == 413
    assert (await too_big.json())["error"]["errors"][0]["field"] == "staff.yaml"
    assert (await client.post(URL, headers=hr, data="files")).status == 415


async def test_only_hr(client: Client, tokens: dict[Role, str]) -> None:
    body = {"files": {"teams.yaml": rooms_to_elena()}}
    for role in (Role.staff, Role.moderator, Role.ingest):
        assert (await client.post(URL, headers=bearer(tokens[role]), json=body)).status == 403
    assert (await client.post(URL, json=body)).status == 401


async def test_one_what_if_at_a_time(client: Client, engine: AsyncEngine,
                                     tokens: dict[Role, str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    await booking(engine)
    monkeypatch.setattr(Running, "busy", True)  # another request is replaying
    response = await client.post(URL, headers=bearer(tokens[Role.hr]), json={
        "files": {"teams.yaml": rooms_to_elena()}})
    assert response.status == 429
    assert "Another what-if is running" in (await response.json())["error"]["message"]
