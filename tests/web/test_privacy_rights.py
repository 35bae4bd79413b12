"""A citizen's rights: everything kept about them as JSON (access), and its erasure across
tables (texts, scores, decisions' author, pages' reasons, notifications, sanctions),
audited without the author in clear; other authors untouched. API (admin) and CLI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.review.sanctions import strike_author
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.audit import audit_table
from guardian.storage.db import create_engine, utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.migrate import upgrade
from guardian.storage.pages import Step, open_page, pages_table
from guardian.types import Role
from tests.commands import env_for, run
from tests.conftest import Client, Database, bearer, example_policy, message

TEXT = "Soy Marta Gil, vivo en la calle Luna 3 y la farola lleva días apagada"


async def _seed(engine: AsyncEngine) -> tuple[int, int]:
    """Marta's message (decided, notified, paged, struck) and someone else's."""
    async with engine.begin() as conn:
        mine, other = await store_messages(conn=conn, messages=[
            MessageIn.model_validate(message("m1", text=TEXT, author={"handle": "@MartaGil"})),
            MessageIn.model_validate(message("o1", author={"handle": "@otra"}))])
        await conn.execute(update(messages_table).where(messages_table.c.id == mine.id)
                           .values(masked_text=TEXT, harassment_level="none",
                                   decision={"message": {"author": "twitter:martagil"},
                                             "category": "street_lighting"}))
        await outbox.enqueue(conn=conn, recipient="carmen", kind="deliver", body=TEXT,
                             due_at=utcnow(), idempotency_key="d:m1", message_id=mine.id,
                             payload={"text": TEXT})
        await open_page(conn=conn, team="lighting", reason=f"street_lighting: {TEXT}",
                        plan=[Step("antonio", 15)], last_resort="lucia", now=utcnow(),
                        message_id=mine.id)
        await strike_author(conn=conn, source="twitter", handle="martagil", by="mod",
                            moderation=example_policy().moderation, now=utcnow())
    return mine.id, other.id


async def _everything(engine: AsyncEngine) -> str:
    """Every row of the tables that hold citizens' data, as text."""
    async with engine.connect() as conn:
        rows: list[Any] = []
        for table in (messages_table, outbox.notifications_table, pages_table, audit_table):
            rows += [dict(r) for r in (await conn.execute(select(table))).mappings().all()]
    return json.dumps(rows, default=str, ensure_ascii=False)


async def test_an_author_exports_then_erases_their_data_and_only_theirs(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mine, other = await _seed(engine)
    admin = bearer(tokens[Role.admin])
    exported = await client.post("/api/v1/privacy/export", headers=admin,
                                 json={"author": "twitter:@martagil"})
    body = await exported.json()
    assert exported.status == 200 and [m["id"] for m in body["messages"]] == [mine]
    assert body["messages"][0]["text"] == TEXT and body["sanctions"][0]["strikes"] == 1
    assert [n["recipient"] for n in body["notifications"]] == ["carmen"]

    erased = await client.post("/api/v1/privacy/erase", headers=admin,
                               json={"author": "twitter:MartaGil"})
    assert (await erased.json())["erased"] == {"messages": 1, "notifications": 1,
                                               "sanctions": 1}
    everything = await _everything(engine)
    assert "Marta" not in everything and "Luna" not in everything
    assert "martagil" not in everything.casefold()
    # The other author's message is as it was; the audit says what, not whom.
    async with engine.connect() as conn:
        kept = (await conn.execute(select(messages_table.c.text).where(
            messages_table.c.id == other))).scalar_one()
        [entry] = (await conn.execute(select(audit_table).where(
            audit_table.c.action == "privacy.erase"))).mappings().all()
    assert kept == message("o1")["text"]
    assert entry["subject"].startswith("author:") and entry["details"]["messages"] == 1
    again = await client.post("/api/v1/privacy/export", headers=admin,
                              json={"author": "twitter:@martagil"})
    assert (await again.json())["messages"] == []
    bad = await client.post("/api/v1/privacy/erase", headers=admin, json={"author": "marta"})
    assert bad.status == 422


def test_the_cli_exports_and_erases(database: Database) -> None:
    async def seed() -> None:
        engine = create_engine(database.url)
        try:
            await upgrade(engine)
            await _seed(engine)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    env = env_for(database)
    shown = run("privacy", "export", "--author", "twitter:@martagil", env=env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["messages"][0]["text"] == TEXT
    erased = run("privacy", "erase", "--author", "twitter:@martagil", "--yes", env=env)
    assert erased.returncode == 0 and "erased: 1 message(s)" in erased.stdout
    shown = run("privacy", "export", "--author", "twitter:@martagil", env=env)
    assert json.loads(shown.stdout)["messages"] == []
