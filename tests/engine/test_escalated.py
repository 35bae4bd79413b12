"""A moderator's `escalate` acts: a threat escalated to the police pages the police's
on-call people with their chain; an escalation to HR is a notice to HR with the masked
text; both are audited, and those escalated to can list what was escalated to them (and
no one else can)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage import outbox
from guardian.storage.audit import audit_table
from guardian.storage.pages import pages_table
from guardian.storage.tokens import create_token
from guardian.types import Role
from tests.conftest import Client, bearer
from tests.web.test_review import _held

THREAT = "Como vuelva a ver al policía de la plaza le parto la cara"
THREAT_MASKED = "Como vuelva a ver al policía de la plaza [amenaza]"
RUDE = "Eres un imbécil, la farola sigue rota"
RUDE_MASKED = "Eres un [insulto], la farola sigue rota"


async def _escalate(client: Client, moderator: dict[str, str], item_id: int, to: str
                    ) -> dict[str, Any]:
    response = await client.post(f"/api/v1/review/{item_id}/decide", headers=moderator,
                                 json={"decision": "escalate", "escalate_to": to,
                                       "note": "se repite cada semana"})
    body = dict(await response.json())
    assert response.status == 200, body
    return body


async def _staff(engine: AsyncEngine, who: str) -> dict[str, str]:
    _, token = await create_token(engine=engine, name=who, role=Role.staff, staff_id=who)
    return bearer(token)


async def test_escalations_page_the_police_tell_hr_and_are_listed_to_them_only(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    moderator = bearer(tokens[Role.moderator])
    threat = await _held(engine, "t1", level="threat", text=THREAT, masked=THREAT_MASKED,
                         category="police", target="police")
    rude = await _held(engine, "r1", level="abusive", text=RUDE, masked=RUDE_MASKED)
    await _escalate(client, moderator, threat, "police")
    await _escalate(client, moderator, rude, "hr")

    async with engine.connect() as conn:
        [page] = (await conn.execute(select(pages_table))).mappings().all()
        rows = (await conn.execute(select(outbox.notifications_table)
                                   .order_by(outbox.notifications_table.c.id))
                ).mappings().all()
        actions = [(r["action"], r["subject"]) for r in (await conn.execute(
            select(audit_table).where(audit_table.c.action.like("review.escalation.%"))
        )).mappings().all()]
    # The threat: a page to the police's on-call person, with the masked text.
    assert page["team"] == "police" and page["status"] == "open"
    assert page["person"] in ("pablo", "raquel")
    [paged] = [r for r in rows if r["kind"] == "page"]
    assert paged["recipient"] == page["person"] and THREAT_MASKED in paged["body"]
    assert "parto la cara" not in paged["body"]
    # To HR: Lucía (moderation.hr) gets the masked text and the moderator's note.
    [hr] = [r for r in rows if r["kind"] == "deliver"]
    assert hr["recipient"] == "lucia" and hr["payload"]["escalated"]
    assert hr["payload"]["text"] == RUDE_MASKED and "imbécil" not in hr["body"]
    assert "se repite cada semana" in hr["payload"]["reasons"]
    assert sorted(actions) == [("review.escalation.notice", f"review:{rude}"),
                               ("review.escalation.page", f"review:{threat}")]

    async def listed(headers: dict[str, str], query: str = "") -> list[int]:
        response = await client.get(f"/api/v1/escalations{query}", headers=headers)
        body = await response.json()
        assert response.status == 200, body
        return sorted(e["review_id"] for e in body["escalations"])

    assert await listed(bearer(tokens[Role.hr])) == sorted([threat, rude])
    assert await listed(bearer(tokens[Role.hr]), "?to=hr") == [rude]
    assert await listed(moderator) == sorted([threat, rude])
    # Raquel (police) sees what went to the police; Carmen (lighting) nothing.
    assert await listed(await _staff(engine, "raquel")) == [threat]
    assert await listed(await _staff(engine, "carmen")) == []
    shown = await (await client.get("/api/v1/escalations",
                                    headers=bearer(tokens[Role.hr]))).json()
    assert all("imbécil" not in e["text"] and "parto" not in e["text"]
               for e in shown["escalations"])
    bad = await client.get("/api/v1/escalations?to=fbi", headers=bearer(tokens[Role.hr]))
    assert bad.status == 422
