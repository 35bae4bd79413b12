"""Acknowledging a page by replying on the channel: reply codes, the gateway endpoint
(JSON and Twilio's form) and the MQTT listener, against real databases and Mosquitto."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import parse_reply, reply_code, reply_matches
from guardian.acks.replies import ReplyOutcome, acknowledge_reply
from guardian.storage.models import Page
from guardian.storage.pages import Step, advance_due, get_page, open_page, page_events
from guardian.types import Role
from guardian.web.keys import settings_key
from tests.conftest import Client, bearer

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
PLAN = [Step("antonio", 15), Step("carmen", 15)]
SECRET = "a-secret-key-for-the-reply-tests-0123456789"
PATH = "/api/v1/replies"


async def _page(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        page, _ = await open_page(conn=conn, team="lighting", reason="Cable caído", plan=PLAN,
                                  last_resort="lucia", now=T0)
    return page.id or 0


async def _get(engine: AsyncEngine, page_id: int) -> Page:
    async with engine.connect() as conn:
        found = await get_page(conn=conn, page_id=page_id)
    assert found is not None
    return found


async def _events(engine: AsyncEngine, page_id: int) -> list[tuple[str, str | None]]:
    async with engine.connect() as conn:
        return [(e.kind, e.actor) for e in await page_events(conn=conn, page_id=page_id)]


def _code(client: Client, page_id: int, person: str) -> str:
    return reply_code(client.app[settings_key].secret_key, page_id, person)


# --- codes ------------------------------------------------------------------------------

def test_a_reply_code_names_the_page_and_is_found_in_free_text() -> None:
    code = reply_code(SECRET, 12, "antonio")
    assert code.startswith("ACK 12-") and len(code) == len("ACK 12-") + 8
    mac = code.split("-")[1]
    for text in (code, code.lower(), f"ok {code.lower()} thanks", f"12-{mac}",
                 f"  Ack   12-{mac.upper()}!", f"vale, ACK 12 - {mac}", f"ACK 12\u2013{mac}",
                 f"recibido\n\nACK 12-{mac}\n--\nenviado desde mi móvil"):
        assert parse_reply(text) == (12, mac), text
    for text in ("", "ok", "ACK 12", "ACK 12-4f9a2b7", f"x12-{mac}", f"12-{mac}0",
                 f"1234567890-{mac}", f"12-{mac[:-1]}g"):
        assert parse_reply(text) is None, text
    assert reply_matches(SECRET, 12, "antonio", mac)
    assert reply_matches(SECRET, 12, "antonio", mac.upper())
    assert not reply_matches(SECRET, 12, "carmen", mac)
    assert not reply_matches(SECRET, 13, "antonio", mac)
    assert not reply_matches("another secret of sufficient length!!", 12, "antonio", mac)
    assert not reply_matches(SECRET, 12, "antonio", "ñ" * 8)


async def test_the_code_of_someone_not_yet_paged_or_of_another_page_is_refused(
        engine: AsyncEngine) -> None:
    page_id = await _page(engine)
    other = await _page(engine)

    async def reply(text: str) -> ReplyOutcome:
        result = await acknowledge_reply(engine=engine, secret=SECRET, text=text,
                                         channel="test", sender=None, now=T0)
        return result.outcome

    # Carmen is on the plan but not paged yet; Antonio's code for the other page.
    assert await reply(reply_code(SECRET, page_id, "carmen")) == ReplyOutcome.invalid_code
    assert await reply(f"ACK {page_id}-{reply_code(SECRET, other, 'antonio')[-8:]}") == (
        ReplyOutcome.invalid_code)
    assert await reply("x" * 1001 + reply_code(SECRET, page_id, "antonio")) == (
        ReplyOutcome.no_code)
    assert (await _get(engine, page_id)).status == "open"
    assert await reply(reply_code(SECRET, page_id, "antonio")) == ReplyOutcome.acknowledged


# --- the gateway endpoint ---------------------------------------------------------------

async def test_a_json_reply_acknowledges_the_page_and_a_second_one_is_told(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    code = _code(client, page_id, "antonio")
    sent = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "sms", "from": "+34600000001", "text": f"ok {code.lower()} thanks"})
    assert sent.status == 200
    body = await sent.json()
    assert body["result"] == "acknowledged" and body["page_id"] == page_id
    assert "acknowledged" in body["message"]
    page = await _get(engine, page_id)
    assert (page.status, page.acked_by) == ("acknowledged", "reply:antonio")
    assert (await _events(engine, page_id))[-1] == ("acknowledged", "reply:antonio")
    assert await advance_due(engine=engine, now=T0 + dt.timedelta(hours=2)) == []

    again = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "sms", "from": "+34600000001", "text": code})
    assert again.status == 200
    body = await again.json()
    assert body["result"] == "already_acknowledged"
    assert "already acknowledged" in body["message"]
    assert [k for k, _ in await _events(engine, page_id)] == ["paged", "acknowledged"]


async def test_a_twilio_form_reply_acknowledges(client: Client, engine: AsyncEngine,
                                               tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    form = {"From": "+34600000001", "To": "+34900000000", "MessageSid": "SM" + "0" * 32,
            "AccountSid": "AC" + "0" * 32, "NumMedia": "0",
            "Body": f"Recibido {_code(client, page_id, 'antonio')}"}
    sent = await client.post(PATH, headers=bearer(tokens[Role.ingest]), data=form)
    assert sent.status == 200, await sent.text()
    assert (await sent.json())["result"] == "acknowledged"
    assert (await _get(engine, page_id)).acked_by == "reply:antonio"

    missing = await client.post(PATH, headers=bearer(tokens[Role.ingest]),
                                data={"From": "+34600000001"})
    assert missing.status == 422
    assert (await missing.json())["error"]["errors"] == [
        {"field": "Body", "message": "is required."}]


async def test_a_wrong_code_is_422_leaves_the_page_open_and_reveals_nothing(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    mac = _code(client, page_id, "antonio")[-8:]
    wrong = "0" * 8 if mac != "0" * 8 else "1" * 8
    headers = bearer(tokens[Role.ingest])

    forged = await client.post(PATH, headers=headers, json={
        "channel": "sms", "text": f"ACK {page_id}-{wrong}"})
    assert forged.status == 422
    error = (await forged.json())["error"]
    assert error["code"] == "invalid_code" and error["errors"][0]["field"] == "text"
    assert (await _get(engine, page_id)).status == "open"
    assert await _events(engine, page_id) == [("paged", None)]

    # A page that does not exist gets the very same answer.
    absent = await client.post(PATH, headers=headers, json={
        "channel": "sms", "text": f"ACK {page_id + 1000}-{mac}"})
    assert absent.status == 422 and (await absent.json())["error"] == error

    nothing = await client.post(PATH, headers=headers, json={"channel": "sms",
                                                             "text": "vale, voy"})
    assert nothing.status == 422
    assert (await nothing.json())["error"]["code"] == "no_code"

    long = await client.post(PATH, headers=headers, json={"channel": "sms",
                                                          "text": "a" * 1001})
    assert long.status == 422 and (await long.json())["error"]["errors"][0]["field"] == "text"
    unknown = await client.post(PATH, headers=headers, json={"channel": "sms", "text": "x",
                                                             "to": "+34900000000"})
    assert unknown.status == 422
    not_json = await client.post(PATH, headers=headers, data=b"ACK 1-00000000")
    assert not_json.status == 415
    assert (await _get(engine, page_id)).status == "open"


async def test_the_code_of_an_escalated_step_acknowledges_and_a_closed_page_says_so(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    [escalated] = await advance_due(engine=engine, now=T0 + dt.timedelta(minutes=15))
    assert escalated.person == "carmen"
    sent = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "telegram", "from": "@carmen", "text": _code(client, page_id, "carmen")})
    assert sent.status == 200 and (await sent.json())["result"] == "acknowledged"
    assert (await _get(engine, page_id)).acked_by == "reply:carmen"

    # A page whose chain ran out is closed: the code is right, nothing changes.
    exhausted = await _page(engine)
    for minutes in (15, 30):
        await advance_due(engine=engine, now=T0 + dt.timedelta(minutes=minutes))
    assert (await _get(engine, exhausted)).status == "exhausted"
    late = await client.post(PATH, headers=bearer(tokens[Role.ingest]), json={
        "channel": "sms", "text": _code(client, exhausted, "antonio")})
    assert late.status == 200 and (await late.json())["result"] == "closed"
    assert (await _get(engine, exhausted)).status == "exhausted"


async def test_replies_need_a_gateway_token(client: Client, engine: AsyncEngine,
                                            tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    body = {"channel": "sms", "text": _code(client, page_id, "antonio")}
    assert (await client.post(PATH, json=body)).status == 401
    assert (await client.post(PATH, json=body, headers=bearer("nonsense"))).status == 401
    for role in (Role.staff, Role.hr, Role.moderator):
        assert (await client.post(PATH, json=body, headers=bearer(tokens[role]))).status == 403
    assert (await _get(engine, page_id)).status == "open"
    document = await (await client.get("/api/v1/openapi.json",
                                       headers=bearer(tokens[Role.ingest]))).json()
    operation = document["paths"][PATH]["post"]
    assert operation["x-roles"] == ["admin", "ingest"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json", "application/x-www-form-urlencoded"}


async def test_guessing_a_pages_code_is_stopped_after_ten_wrong_ones(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    """Ten wrong codes for a page within the hour, and every reply code for it is refused
    (429) until the hour has passed, the right one too; other pages are not affected."""
    page_id = await _page(engine)
    other = await _page(engine)
    right = _code(client, page_id, "antonio")
    mac = right[-8:]
    headers = bearer(tokens[Role.ingest])
    for n in range(10):
        wrong = f"{n:08x}" if f"{n:08x}" != mac else "f" * 8
        answer = await client.post(PATH, headers=headers, json={
            "channel": "sms", "text": f"ACK {page_id}-{wrong}"})
        assert answer.status == 422
    refused = await client.post(PATH, headers=headers, json={"channel": "sms", "text": right})
    assert refused.status == 429 and "link" in (await refused.json())["error"]["message"]
    assert (await _get(engine, page_id)).status == "open"
    fine = await client.post(PATH, headers=headers,
                             json={"channel": "sms", "text": _code(client, other, "antonio")})
    assert fine.status == 200
