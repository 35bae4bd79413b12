"""Pages: escalate on time, stop when acknowledged (API or signed link), fire each step once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import LinkError, ack_token, read_ack_token
from guardian.engine.escalation import Escalator
from guardian.storage.pages import Step, advance_due, open_page, page_events
from guardian.storage.tokens import create_token
from guardian.types import Role
from guardian.web.keys import settings_key
from tests.conftest import Client, Database, bearer

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)   # 03:00 in Madrid
PLAN = [Step("antonio", 15), Step("carmen", 15)]


async def _page(engine: AsyncEngine, reason: str = "Cable caído en la calle Real") -> int:
    async with engine.begin() as conn:
        page, event = await open_page(conn=conn, team="lighting", reason=reason, plan=PLAN,
                                      last_resort="lucia", now=T0)
    assert (event.kind, event.person) == ("paged", "antonio")
    return page.id or 0


async def _kinds(engine: AsyncEngine, page_id: int) -> list[tuple[str, str | None]]:
    async with engine.connect() as conn:
        return [(e.kind, e.person) for e in await page_events(conn=conn, page_id=page_id)]


async def test_an_unanswered_page_escalates_on_time_then_reaches_the_last_resort(
        engine: AsyncEngine) -> None:
    page_id = await _page(engine)
    minute = dt.timedelta(minutes=1)
    assert await advance_due(engine=engine, now=T0 + 14 * minute) == []
    [escalated] = await advance_due(engine=engine, now=T0 + 15 * minute)
    assert (escalated.kind, escalated.person) == ("escalated", "carmen")
    assert await advance_due(engine=engine, now=T0 + 29 * minute) == []
    [last] = await advance_due(engine=engine, now=T0 + 30 * minute)
    assert (last.kind, last.person) == ("last_resort", "lucia")
    # Nothing fires twice, however often the timers are looked at.
    assert await advance_due(engine=engine, now=T0 + 90 * minute) == []
    assert await _kinds(engine, page_id) == [("paged", "antonio"), ("escalated", "carmen"),
                                             ("last_resort", "lucia")]


async def test_timers_survive_a_restart_and_concurrent_workers_fire_once(
        database: Database, engine: AsyncEngine) -> None:
    page_id = await _page(engine)
    # "Restart": new escalators, long after the first delay; several at once.
    late = T0 + dt.timedelta(minutes=16)
    escalators = [Escalator(engine, clock=lambda: late) for _ in range(4)]
    results = await asyncio.gather(*(e.advance() for e in escalators))
    assert sum(len(r) for r in results) == 1
    assert await _kinds(engine, page_id) == [("paged", "antonio"), ("escalated", "carmen")]


async def test_acknowledging_through_the_api_stops_the_escalation(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page_id = await _page(engine)
    _, carmen = await create_token(engine=engine, name="carmen", role=Role.staff,
                                   staff_id="carmen")
    _, jose = await create_token(engine=engine, name="jose", role=Role.staff, staff_id="jose")
    path = f"/api/v1/pages/{page_id}/ack"
    assert (await client.post(path, headers=bearer(jose))).status == 403
    acked = await client.post(path, headers=bearer(carmen))
    assert acked.status == 200
    body = await acked.json()
    assert body["status"] == "acknowledged" and body["acked_by"] == "staff:carmen"
    assert await advance_due(engine=engine, now=T0 + dt.timedelta(hours=2)) == []
    assert (await client.post(path, headers=bearer(carmen))).status == 409
    shown = await (await client.get(f"/api/v1/pages/{page_id}",
                                    headers=bearer(tokens[Role.hr]))).json()
    assert [e["kind"] for e in shown["events"]] == ["paged", "acknowledged"]
    listed = await (await client.get("/api/v1/pages?status=open",
                                     headers=bearer(tokens[Role.hr]))).json()
    assert listed["pages"] == []


async def test_the_signed_link_shows_a_button_and_acknowledges(
        client: Client, engine: AsyncEngine) -> None:
    page_id = await _page(engine, reason="Cable caído <script>alert(1)</script>")
    secret = client.app[settings_key].secret_key
    token = ack_token(secret, page_id, "antonio")
    shown = await client.get(f"/ack/{token}")
    assert shown.status == 200
    text = await shown.text()
    # One language (Antonio's), names from the policy, and what happens next: Carmen at
    # 03:15 Madrid time, then Lucía, the last resort, at 03:30.
    assert '<html lang="es">' in text and "Alumbrado público" in text
    assert "lighting" not in text.replace("Alumbrado público (street lighting)", "")
    assert "Me encargo yo" in text and 'method="post"' in text
    assert "Carmen Ruiz · 26/11/2026 03:15" in text
    assert "Lucía Romero · 26/11/2026 03:30 · último recurso" in text
    assert "Acknowledge" not in text and "Recibido" not in text  # no mixed languages
    assert "<script>" not in text and "&lt;script&gt;" in text
    # Opening the link (a chat app's preview) changed nothing.
    assert await _kinds(engine, page_id) == [("paged", "antonio")]
    confirmed = await client.post(f"/ack/{token}")
    assert confirmed.status == 200
    assert "La escalada se ha detenido" in await confirmed.text()
    assert (await _kinds(engine, page_id))[-1] == ("acknowledged", None)
    again = await client.post(f"/ack/{token}")
    assert again.status == 409 and "Ya lo confirmó Antonio Molina" in await again.text()
    assert "Ya lo confirmó Antonio Molina" in await (await client.get(f"/ack/{token}")).text()
    forged = await client.get(f"/ack/{token[:-4]}abcd")
    assert forged.status == 404 and "no es válido" in await forged.text()


def test_ack_links_expire_and_name_their_page() -> None:
    token = ack_token("s" * 40, 7, "antonio")
    claim = read_ack_token("s" * 40, token)
    assert (claim.page_id, claim.person) == (7, "antonio")
    with pytest.raises(LinkError, match="expired"):
        read_ack_token("s" * 40, token, max_age=-1)
    with pytest.raises(LinkError, match="not valid"):
        read_ack_token("another secret of sufficient length!!", token)


async def test_anyone_the_chain_names_may_acknowledge_before_it_reaches_them(
        client: Client, engine: AsyncEngine) -> None:
    """The lead was skipped (or not reached yet): the chain still names her, so her
    acknowledgement is taken; someone from another team's chain is refused."""
    async with engine.begin() as conn:
        page, _ = await open_page(conn=conn, team="lighting", reason="Cable caído",
                                  plan=[Step("antonio", 15)], last_resort="lucia", now=T0)
    _, carmen = await create_token(engine=engine, name="carmen", role=Role.staff,
                                   staff_id="carmen")
    _, jose = await create_token(engine=engine, name="jose", role=Role.staff, staff_id="jose")
    path = f"/api/v1/pages/{page.id}/ack"
    refused = await client.post(path, headers=bearer(jose))
    assert refused.status == 403
    acked = await client.post(path, headers=bearer(carmen))
    assert acked.status == 200 and (await acked.json())["acked_by"] == "staff:carmen"


async def test_an_acknowledgement_names_the_person_not_the_tokens_name(
        client: Client, engine: AsyncEngine) -> None:
    """Token names may repeat or mislead: a token named "carmen" that belongs to Antonio
    acknowledges as Antonio."""
    page_id = await _page(engine)
    _, misleading = await create_token(engine=engine, name="carmen", role=Role.staff,
                                       staff_id="antonio")
    acked = await client.post(f"/api/v1/pages/{page_id}/ack", headers=bearer(misleading))
    assert acked.status == 200 and (await acked.json())["acked_by"] == "staff:antonio"
