"""Retention: past the policy's days, a message's text and identity and a notification's
body are replaced, the audit log past its years deleted; what is younger is untouched;
a second round changes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.engine.retention import EXPIRED, expire
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.audit import audit_table
from guardian.storage.messages import messages_table, store_messages
from tests.conftest import example_policy, message

NOW = dt.datetime(2026, 12, 6, 9, tzinfo=dt.UTC)
POLICY = example_policy()


async def test_old_data_is_replaced_and_young_data_kept(engine: AsyncEngine) -> None:
    keep = POLICY.retention
    old_at = NOW - dt.timedelta(days=keep.message_days + 1)
    async with engine.begin() as conn:
        old, young = await store_messages(conn=conn, messages=[
            MessageIn.model_validate(message("old", text="La farola de mi portal, calle Luna 3",
                                             author={"handle": "@vecina"})),
            MessageIn.model_validate(message("young", text="La papelera del parque"))])
        await conn.execute(update(messages_table).where(messages_table.c.id == old.id)
                           .values(received_at=old_at, decision={
                               "message": {"author": "twitter:vecina"},
                               "category": "street_lighting"}))
        sent = await outbox.enqueue(conn=conn, recipient="carmen", kind="deliver",
                                    body="calle Luna 3", due_at=old_at,
                                    idempotency_key="d:old", message_id=old.id,
                                    payload={"text": "calle Luna 3"})
        await conn.execute(outbox.notifications_table.update()
                           .where(outbox.notifications_table.c.id == sent.id)
                           .values(status="sent", created_at=old_at))
        await conn.execute(insert(audit_table).values(
            at=NOW - dt.timedelta(days=365 * keep.audit_years + 1), actor="x",
            action="old.thing", subject="s", details={}))
    assert await expire(engine, POLICY, NOW) == 3
    async with engine.connect() as conn:
        rows = {r.id: r for r in (await conn.execute(select(messages_table))).all()}
        [note] = (await conn.execute(select(outbox.notifications_table))).mappings().all()
        actions = [a for a, in (await conn.execute(select(audit_table.c.action))).all()]
    assert rows[old.id].text == EXPIRED and "vecina" not in str(rows[old.id]._mapping)
    assert rows[old.id].decision["category"] == "street_lighting"
    assert rows[young.id].text == "La papelera del parque"
    assert note["body"] == EXPIRED and note["payload"] == {}
    assert actions == ["retention.expire"]
    assert await expire(engine, POLICY, NOW) == 0
