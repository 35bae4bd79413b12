"""Least privilege on data: a delivery body shown to HR carries no link token or reply
code; an override's reason is for HR and the people it concerns; staff see their own
teams' pages; moderators read raw text only through a claim (tests/web/test_messages.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import redact_links
from guardian.storage import outbox
from guardian.storage.pages import Step, open_page
from guardian.storage.tokens import create_token
from guardian.types import NotificationKind, Role
from tests.conftest import Client, bearer

NOW = dt.datetime(2026, 11, 26, 2, tzinfo=dt.UTC)
PAGE_BODY = ("URGENTE: cable caído\nConfirma: https://guardian.town.test/ack/eyJwIjoxfQ.abc.def "
             "o responde ACK 1-1e61da7f\nMárcalo: https://guardian.town.test/flag/eyJtIjoyfQ.x.y")


async def _staff(engine: AsyncEngine, who: str) -> dict[str, str]:
    _, token = await create_token(engine=engine, name=f"{who}-phone", role=Role.staff,
                                  staff_id=who)
    return bearer(token)


async def _json(response: Any) -> Any:
    assert response.status == 200, await response.text()
    return await response.json()


def test_redaction_keeps_the_text_and_drops_every_credential() -> None:
    shown = redact_links(PAGE_BODY)
    assert "cable caído" in shown and "/ack/[…]" in shown and "/flag/[…]" in shown
    assert "eyJ" not in shown and "1e61da7f" not in shown
    assert redact_links("GET /ical/person/antonio/tok3n.ics 200") == "GET /ical/[…] 200"


async def test_hr_reads_delivery_bodies_without_links_and_codes(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    async with engine.begin() as conn:
        made = await outbox.enqueue(conn=conn, recipient="antonio", kind=NotificationKind.page,
                                    body=PAGE_BODY, due_at=NOW, idempotency_key="page:1:0")
    hr = await _json(await client.get(f"/api/v1/notifications/{made.id}",
                                      headers=bearer(tokens[Role.hr])))
    assert "eyJ" not in hr["body"] and "1e61da7f" not in hr["body"]
    listed = await _json(await client.get("/api/v1/notifications",
                                          headers=bearer(tokens[Role.hr])))
    assert all("eyJ" not in n["body"] for n in listed["notifications"])
    # Antonio's own notification keeps what he needs to acknowledge.
    own = await _json(await client.get(f"/api/v1/notifications/{made.id}",
                                       headers=await _staff(engine, "antonio")))
    assert own["body"] == PAGE_BODY


async def test_an_override_reason_is_for_hr_and_the_people_it_concerns(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    created = await client.post("/api/v1/overrides", headers=bearer(tokens[Role.hr]), json={
        "team": "lighting", "kind": "replace", "person": "carmen", "replaces": "antonio",
        "start": "2026-12-01T08:00:00+01:00", "end": "2026-12-04T08:00:00+01:00",
        "reason": "baja médica"})
    assert created.status == 201

    async def reason(headers: dict[str, str]) -> str:
        [found] = (await _json(await client.get("/api/v1/overrides?status=all",
                                                headers=headers)))["overrides"]
        return str(found["reason"])

    assert await reason(bearer(tokens[Role.hr])) == "baja médica"
    assert await reason(await _staff(engine, "antonio")) == "baja médica"
    assert await reason(await _staff(engine, "carmen")) == "baja médica"
    assert await reason(await _staff(engine, "jose")) == ""
    assert await reason(bearer(tokens[Role.moderator])) == ""


async def test_staff_see_their_own_teams_pages_only(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    async with engine.begin() as conn:
        page, _ = await open_page(conn=conn, team="lighting", reason="Cable caído",
                                  plan=[Step("antonio", 15)], last_resort="lucia", now=NOW)
    path = f"/api/v1/pages/{page.id}"
    for who, sees in (("antonio", True), ("carmen", True), ("lucia", True),
                      ("jose", False), ("pablo", False)):
        headers = await _staff(engine, who)
        listed = await _json(await client.get("/api/v1/pages", headers=headers))
        assert ([p["id"] for p in listed["pages"]] == [page.id]) is sees, who
        assert (await client.get(path, headers=headers)).status == (200 if sees else 404)
    assert (await client.get(path, headers=bearer(tokens[Role.hr]))).status == 200


def test_the_access_log_never_holds_a_link_token(caplog: Any) -> None:
    from guardian.web.access_log import access_logger
    logger = access_logger()
    with caplog.at_level("INFO", logger="guardian.access"):
        logger.info('%s "%s" %s', "127.0.0.1", "POST /ack/eyJwIjoxfQ.abc.def HTTP/1.1", 200)
        logger.info('%s "%s" %s', "127.0.0.1", "GET /ical/team/police/s3cr3t.ics HTTP/1.1",
                    200)
    text = caplog.text
    assert "eyJ" not in text and "s3cr3t" not in text
    assert "POST /ack/[…]" in text and "GET /ical/[…]" in text
