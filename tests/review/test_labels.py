"""Human labels from moderators' decisions (both databases): which decisions label a
message, which one counts when there are several, and where the label came from."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.review.decisions import decide_review
from guardian.review.labels import labelled_messages
from guardian.review.queue import enqueue_review, flag_message, staff_flagger
from guardian.schemas import MessageIn
from guardian.storage.messages import messages_table, store_messages
from guardian.types import ReviewDecision
from tests.conftest import example_policy, message

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
MODERATION = example_policy().moderation


async def stored(engine: AsyncEngine, external_id: str, text: str, *, level: str = "abusive",
                 lang: str | None = "es", scored_lang: str | None = None) -> int:
    body = message(external_id, text=text, author={"handle": f"@a{external_id}"})
    if lang is None:
        del body["lang"]
    async with engine.begin() as conn:
        [row] = await store_messages(conn=conn, messages=[MessageIn.model_validate(body)])
        await conn.execute(update(messages_table).where(messages_table.c.id == row.id).values(
            harassment_level=level, masked_text=text,
            assessment={"level": level, "lang": scored_lang} if scored_lang else None))
    return row.id


async def held(engine: AsyncEngine, message_id: int, reason: str = "abusive") -> int:
    async with engine.begin() as conn:
        if reason == "flagged":
            flagged = await flag_message(conn=conn, message_id=message_id,
                                         flagger=staff_flagger("carmen"), via="api")
            assert flagged is not None
            item = flagged.item
        else:
            item = await enqueue_review(conn=conn, message_id=message_id, reason=reason,
                                        level="abusive")
    return item.id or 0


async def decided(engine: AsyncEngine, item_id: int, decision: ReviewDecision, minutes: int,
                  *, mute_days: int | None = None, escalated_to: str | None = None) -> None:
    async with engine.begin() as conn:
        done = await decide_review(conn=conn, item_ids=[item_id], decision=decision,
                                   moderator="moderator:ana", moderation=MODERATION,
                                   now=T0 + dt.timedelta(minutes=minutes),
                                   mute_days=mute_days, escalated_to=escalated_to)
    assert [i.id for i in done.items] == [item_id]


async def test_decisions_become_labels_and_undecided_or_escalated_ones_do_not(
        engine: AsyncEngine) -> None:
    confirmed = await stored(engine, "1", "Eres un imbécil")
    await decided(engine, await held(engine, confirmed, "flagged"), ReviewDecision.confirm, 1)
    blocked = await stored(engine, "2", "Os voy a quemar", level="threat", lang=None,
                           scored_lang="es")
    await decided(engine, await held(engine, blocked, "threat"), ReviewDecision.block, 2)
    muted = await stored(engine, "3", "Payasos", level="rude")
    await decided(engine, await held(engine, muted), ReviewDecision.mute, 3, mute_days=7)
    dismissed = await stored(engine, "4", "La farola sigue rota, inútiles", level="rude")
    await decided(engine, await held(engine, dismissed, "flagged"), ReviewDecision.dismiss, 4)
    escalated = await stored(engine, "5", "Sé dónde vives")
    await decided(engine, await held(engine, escalated, "threat"), ReviewDecision.escalate, 5,
                  escalated_to="hr")
    waiting = await stored(engine, "6", "Sin decidir")
    await held(engine, waiting, "flagged")
    await stored(engine, "7", "Nunca retenido", level="none")

    async with engine.connect() as conn:
        found = await labelled_messages(conn=conn)
    assert [(f.message_id, f.label, f.source, f.decision, f.level, f.lang) for f in found] == [
        (confirmed, "abusive", "flag", "confirm", "abusive", "es"),
        (blocked, "abusive", "moderation", "block", "threat", "es"),
        (muted, "abusive", "moderation", "mute", "rude", "es"),
        (dismissed, "not_abusive", "flag", "dismiss", "rude", "es")]
    assert found[0].text == "Eres un imbécil"   # the raw text
    assert found[0].decided_at == T0 + dt.timedelta(minutes=1)


async def test_the_latest_decision_of_a_message_is_its_label(engine: AsyncEngine) -> None:
    message_id = await stored(engine, "1", "Eres un imbécil")
    # The engine held it, a moderator dismissed it; staff then flagged it, and another
    # moderator confirmed: abusive, from the flag.
    await decided(engine, await held(engine, message_id), ReviewDecision.dismiss, 10)
    async with engine.connect() as conn:
        [first] = await labelled_messages(conn=conn)
    assert (first.label, first.source) == ("not_abusive", "moderation")
    await decided(engine, await held(engine, message_id, "flagged"), ReviewDecision.confirm, 20)
    async with engine.connect() as conn:
        [latest] = await labelled_messages(conn=conn)
        recent = await labelled_messages(conn=conn, since=T0 + dt.timedelta(minutes=15))
        none = await labelled_messages(conn=conn, since=T0 + dt.timedelta(minutes=21))
    assert (latest.label, latest.source, latest.decided_at) == (
        "abusive", "flag", T0 + dt.timedelta(minutes=20))
    assert [(r.message_id, r.label) for r in recent] == [(message_id, "abusive")]
    assert none == []
