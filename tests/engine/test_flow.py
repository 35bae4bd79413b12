"""From decision to delivery, on both databases, with real receivers on loopback: the
decision stage writes the outbox, page events notify with an ack link, the notifier sends
at the right time (quiet hours, duty, the hourly cap at send time) and digests arrive at
the start of the working day, across a daylight-saving change too; every notification
about a message carries its recipient's link to flag it as abusive."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from guardian.acks.links import read_ack_token
from guardian.config.settings import Settings
from guardian.engine.decision_stage import Notifying
from guardian.engine.dismissed import DismissedDelivery
from guardian.engine.escalation import Escalator
from guardian.review.decisions import decide_review
from guardian.review.queue import flag_message, review_table, staff_flagger
from guardian.schemas import MessageIn
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.pages import acknowledge, pages_table
from guardian.types import ReviewDecision, Role, Stage
from guardian.web.app import init_app
from tests.conftest import AiohttpClient, bearer, message, with_settings
from tests.engine.town import (
    BASE,
    FLAGS,
    LAMP,
    POWER_LINE,
    SECRET,
    Town,
    flag_claim,
    madrid,
)
from tests.receivers import JsonReceiver, wait_until


async def test_a_lamp_at_night_reaches_carmen_in_her_morning_digest_not_before(
        town: Town) -> None:
    town.at(madrid(11, 25, 22, 48))
    [message_id] = await town.decide(LAMP)
    [item] = await town.rows("carmen")
    assert (item.status, item.kind, item.message_id) == ("waiting", "deliver", message_id)
    assert item.due_at == madrid(11, 26, 7, 30)
    # Through the night nothing goes out (and no empty digest for anyone).
    for hour in (23, 2, 6):
        town.at(madrid(11, 25 if hour == 23 else 26, hour, 59))
        await town.deliver()
    assert town.receiver.posts == []
    town.at(madrid(11, 26, 7, 30))
    await town.deliver()
    [digest] = town.got("carmen")
    # The category by its name in Carmen's language, never its id.
    assert "farola de la calle Real" in digest and "Alumbrado público (1)" in digest
    assert "street_lighting" not in digest
    assert f"{BASE}/m/" in digest  # the message page, signed for Carmen
    assert flag_claim(digest) == (message_id, "carmen")
    assert [p.path for p in town.receiver.posts] == ["/carmen"]
    rows = await town.rows("carmen")
    assert [(r.kind, r.status) for r in rows] == [("deliver", "digested"), ("digest", "sent")]
    assert rows[0].digest_id == rows[1].id
    # A second round sends nothing again.
    await town.deliver()
    assert len(town.receiver.posts) == 1


async def test_a_power_line_at_three_pages_with_an_ack_link_escalates_and_stops_when_acked(
        town: Town) -> None:
    town.at(madrid(11, 25, 3))
    [message_id] = await town.decide(POWER_LINE)
    await town.deliver()
    [page_text] = town.got("antonio")  # on call, paged in his quiet hours: the exception
    assert "cable caído" in page_text and f"{BASE}/ack/" in page_text
    assert "ACK " in page_text  # the reply code
    assert flag_claim(page_text) == (message_id, "antonio")
    # Unanswered after the chain's delay: the next step (the team lead) is paged.
    town.at(madrid(11, 25, 3, 16))
    await Escalator(town.engine, clock=town.clock, notify=town.pages).advance()
    await town.deliver()
    async with town.engine.connect() as conn:
        page = (await conn.execute(select(pages_table))).mappings().one()
    escalated_to = page["person"]
    assert escalated_to != "antonio"
    [escalation] = town.got(escalated_to)
    assert f"{BASE}/ack/" in escalation and "antonio" in escalation
    assert flag_claim(escalation) == (message_id, escalated_to)
    # Acknowledged through the link in the notification: the page stops escalating.
    link = escalation[escalation.index(f"{BASE}/ack/"):].split()[0]
    claim = read_ack_token(SECRET, link.rsplit("/", 1)[1])
    async with town.engine.begin() as conn:
        assert await acknowledge(conn=conn, page_id=claim.page_id, actor=claim.person,
                                 now=town.clock.now) is not None
    town.at(madrid(11, 25, 4))
    assert await Escalator(town.engine, clock=town.clock, notify=town.pages).advance() == []
    await town.deliver()
    assert len(town.receiver.posts) == 2
    assert message_id == page["message_id"]


async def test_a_restart_between_decision_and_send_delivers_exactly_once(town: Town) -> None:
    town.at(madrid(11, 25, 10))
    [message_id] = await town.decide(LAMP)  # carmen is on duty: delivered now
    [row] = await town.rows("carmen")
    assert row.status == "pending"
    # The process that decided is gone; a new notifier (another process) sends it.
    await town.deliver()
    await town.deliver()
    assert len(town.got("carmen")) == 1
    assert flag_claim(town.got("carmen")[0]) == (message_id, "carmen")
    [row] = await town.rows("carmen")
    assert row.status == "sent" and row.sent_at == town.clock.now


async def test_quiet_hours_at_send_time_move_a_notification_to_the_digest(
        town: Town) -> None:
    town.at(madrid(11, 25, 14, 25))
    await town.decide(LAMP)  # carmen is on duty until 14:30: a push, due now
    # The notifier only gets to it at 22:00 (down, or retrying): carmen is in quiet
    # hours, so it waits for her next start instead.
    town.at(madrid(11, 25, 22))
    await town.deliver()
    assert town.receiver.posts == []
    [row] = await town.rows("carmen")
    assert (row.status, row.due_at) == ("waiting", madrid(11, 26, 7, 30))
    assert row.last_error is not None and "quiet hours" in row.last_error
    town.at(madrid(11, 26, 7, 30))
    await town.deliver()
    assert len(town.got("carmen")) == 1 and "farola" in town.got("carmen")[0]


async def test_the_hourly_cap_holds_at_send_time_and_the_rest_waits_for_the_digest(
        town: Town) -> None:
    town.at(madrid(11, 25, 10))
    limit = town.policy.rate_limits.max_per_person_per_hour
    texts = [f"La farola número {n} de la calle Real está apagada" for n in range(limit + 3)]
    await town.decide(*texts)
    await town.deliver()
    pushes = town.got("carmen")
    assert len(pushes) == limit
    rows = await town.rows("carmen")
    waiting = [r for r in rows if r.status == "waiting"]
    assert len(waiting) == 3 and all(r.due_at == madrid(11, 26, 7, 30) for r in waiting)
    town.at(madrid(11, 26, 7, 30))
    await town.deliver()
    digest = town.got("carmen")[-1]
    assert "3" in digest and len(town.got("carmen")) == limit + 1


async def test_an_emergency_is_never_capped_and_never_counts_toward_the_cap(
        town: Town) -> None:
    town.at(madrid(11, 25, 10))
    limit = town.policy.rate_limits.max_per_person_per_hour
    await town.decide(*(f"La farola número {n} de la calle Real está apagada"
                        for n in range(limit - 1)))
    town.at(madrid(11, 25, 10, 1))
    [emergency] = await town.decide(POWER_LINE)
    town.at(madrid(11, 25, 10, 2))
    [after] = await town.decide("La farola de la plaza del Pozo está apagada")
    # Carmen, on duty in lighting, hears of the emergency now, and it took none of her
    # hour's allowance: the next ordinary report still reaches her at once.
    rows = {r.message_id: r for r in await town.rows("carmen")}
    assert rows[emergency].status == "pending" and not rows[emergency].capped
    assert rows[after].status == "pending" and rows[after].capped
    town.at(madrid(11, 25, 10, 3))
    await town.decide(*(f"La farola número {n} de la calle Mayor está apagada"
                        for n in range(3)))  # now the cap holds the ordinary ones
    # The same at send time: the notifier, past the cap, still sends the emergency.
    town.at(madrid(11, 25, 10, 5))
    await town.deliver()
    got = town.got("carmen")
    assert any("cable caído" in text for text in got)
    assert len(got) == limit + 1  # limit ordinary reports, plus the emergency
    rows = {r.message_id: r for r in await town.rows("carmen")}
    assert rows[emergency].status == "sent"
    assert sum(r.status == "waiting" for r in rows.values()) == 3


async def test_a_storm_holds_what_its_target_was_not_told_yet_and_tells_her_once(
        town: Town) -> None:
    """Twenty accounts insult Antonio in ten minutes in the evening, each with a lamp to
    fix (so each alone would reach the lighting team masked: Carmen's morning digest, as
    Antonio is off duty). The third author sets the storm off: the two items already
    waiting are held back for the moderators, and all Antonio gets in the morning is one
    notice of the storm; Carmen gets none of the insults."""
    town.at(madrid(11, 25, 18))
    ids = []
    for n in range(20):
        town.at(madrid(11, 25, 18) + dt.timedelta(seconds=30 * n))
        async with town.engine.begin() as conn:
            [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(
                message(f"troll-{n}", author={"handle": f"@cuenta{n:02d}"},
                        text=f"@antonio_luz eres un inútil, la farola {n} sigue apagada",
                        mentions=["@antonio_luz"]))])
        ids.append(stored.id)
        await town.worker().drain()
    held = [r for r in await town.rows() if r.status == "cancelled"]
    assert sorted(r.message_id or 0 for r in held) == ids[:2]
    assert all("storm" in (r.last_error or "") for r in held)
    live = [r for r in await town.rows("antonio") if r.status in ("pending", "waiting")]
    assert [(r.kind, r.due_at) for r in live] == [("storm_notice", madrid(11, 26, 8))]
    assert not [r for r in await town.rows("carmen") if r.status in ("pending", "waiting")]
    # The moderators have every message of the storm, the two held ones included.
    async with town.engine.connect() as conn:
        queued = {r.message_id for r in (await conn.execute(select(review_table))).all()}
    assert set(ids) <= queued
    town.at(madrid(11, 26, 8))
    await town.deliver()
    [digest] = town.got("antonio")
    assert "inútil" not in digest and "farola" not in digest
    assert town.got("carmen") == []
    # One notice each for the moderators and HR, whenever they are next on duty.
    notices = [r for r in await town.rows() if r.kind == "storm_notice"]
    assert sorted(r.recipient for r in notices) == ["antonio", "lucia", "maria"]


async def test_a_digest_across_the_autumn_clock_change_arrives_at_local_start(
        town: Town) -> None:
    # Saturday 24 October 2026, evening; clocks go back on Sunday 25 at 03:00. Carmen's
    # next start is Monday 26 at 07:30 Madrid time: 06:30 UTC (it was 05:30 UTC before).
    town.at(madrid(10, 24, 20))
    await town.decide(LAMP)
    [item] = await town.rows("carmen")
    assert item.due_at == dt.datetime(2026, 10, 26, 6, 30, tzinfo=dt.UTC)
    town.clock.now = dt.datetime(2026, 10, 26, 5, 30, tzinfo=dt.UTC)  # 06:30 local
    await town.deliver()
    assert town.receiver.posts == []
    town.clock.now = dt.datetime(2026, 10, 26, 6, 30, tzinfo=dt.UTC)
    await town.deliver()
    [digest] = town.got("carmen")
    assert "farola" in digest


async def test_an_acknowledged_page_cancels_its_unsent_notifications(town: Town) -> None:
    town.at(madrid(11, 25, 3))
    await town.decide(POWER_LINE)
    async with town.engine.connect() as conn:
        page = (await conn.execute(select(pages_table))).mappings().one()
    async with town.engine.begin() as conn:
        await acknowledge(conn=conn, page_id=page["id"], actor="staff:antonio",
                          now=town.clock.now)
    await town.deliver()
    assert town.got("antonio") == []
    [row] = [r for r in await town.rows("antonio") if r.kind == "page"]
    assert row.status == "cancelled"



async def _decided_as(town: Town, level: str, label: str) -> int:
    """The lamp report, scored `level` by hand (masked), then decided."""
    [message_id] = await town.post(LAMP)
    async with town.engine.begin() as conn:
        await conn.execute(messages_table.update().where(messages_table.c.id == message_id)
                           .values(stage=Stage.scored.value, harassment_level=level,
                                   masked_text="La farola ▒▒▒ está apagada",
                                   assessment={"level": level, "labels": {label: 0.9},
                                               "reasons": [], "lang": "es"}))
    await town.worker().drain()
    return message_id


async def test_a_held_message_dismissed_by_a_moderator_reaches_staff_masked(
        town: Town) -> None:
    town.at(madrid(11, 25, 10))
    # Scored as a threat (set by hand: the test is about what follows a dismissal).
    message_id = await _decided_as(town, "threat", "threat")
    await town.deliver()
    assert town.receiver.posts == []  # held: staff see nothing yet
    async with town.engine.connect() as conn:
        [item_id] = (await conn.execute(select(review_table.c.id))).scalars().all()
    releaser = DismissedDelivery(town.engine, town.timeline,
                                 Notifying(BASE, town.pages, flag_links=FLAGS))
    assert await releaser.deliver(town.clock.now) == []  # not dismissed yet
    async with town.engine.begin() as conn:
        await decide_review(conn=conn, item_ids=[item_id], decision=ReviewDecision.dismiss,
                            moderator="moderator:raquel", now=town.clock.now,
                            moderation=town.policy.moderation)
    assert await releaser.deliver(town.clock.now) == [message_id]
    assert await releaser.deliver(town.clock.now) == []  # once
    await town.deliver()
    [request] = town.got("carmen")
    assert "La farola ▒▒▒ está apagada" in request
    assert flag_claim(request) == (message_id, "carmen")
    async with town.engine.connect() as conn:
        stored = (await conn.execute(select(messages_table.c.decision).where(
            messages_table.c.id == message_id))).scalar_one()
    # The lighting team on duty at 10:00, as for any request.
    assert stored["release"]["outcomes"][0]["recipients"] == ["antonio", "carmen"]
    assert "dismissed" in stored["release"]["reasons"][0]


async def test_a_released_message_flagged_then_dismissed_again_is_not_sent_again(
        town: Town) -> None:
    """Staff flag what a moderator released; another moderator dismisses the flag: the
    message is not released (delivered) a second time."""
    town.at(madrid(11, 25, 10))
    message_id = await _decided_as(town, "threat", "threat")
    async with town.engine.connect() as conn:
        [held] = (await conn.execute(select(review_table.c.id))).scalars().all()
    releaser = DismissedDelivery(town.engine, town.timeline,
                                 Notifying(BASE, town.pages, flag_links=FLAGS))
    async with town.engine.begin() as conn:
        await decide_review(conn=conn, item_ids=[held], decision=ReviewDecision.dismiss,
                            moderator="moderator:raquel", now=town.clock.now,
                            moderation=town.policy.moderation)
    assert await releaser.deliver(town.clock.now) == [message_id]
    await town.deliver()
    [request] = town.got("carmen")
    assert flag_claim(request) == (message_id, "carmen")
    async with town.engine.begin() as conn:
        flagged = await flag_message(conn=conn, message_id=message_id,
                                     flagger=staff_flagger("carmen"), via="link")
    assert flagged is not None and flagged.item.reason == "flagged"
    async with town.engine.begin() as conn:
        await decide_review(conn=conn, item_ids=[flagged.item.id or 0],
                            decision=ReviewDecision.dismiss, moderator="moderator:ana",
                            now=town.clock.now, moderation=town.policy.moderation)
    assert await releaser.deliver(town.clock.now) == []
    await town.deliver()
    assert len(town.got("carmen")) == 1


async def test_a_shielded_message_dismissed_later_is_not_sent_twice(town: Town) -> None:
    town.at(madrid(11, 25, 10))
    await _decided_as(town, "abusive", "insult")
    await town.deliver()
    assert len(town.got("carmen")) == 1  # shielded: the masked request went out
    async with town.engine.connect() as conn:
        item_ids = (await conn.execute(select(review_table.c.id))).scalars().all()
    async with town.engine.begin() as conn:
        await decide_review(conn=conn, item_ids=item_ids, decision=ReviewDecision.dismiss,
                            moderator="moderator:raquel", now=town.clock.now,
                            moderation=town.policy.moderation)
    releaser = DismissedDelivery(town.engine, town.timeline, Notifying(BASE, town.pages))
    assert await releaser.deliver(town.clock.now) == []
    await town.deliver()
    assert len(town.got("carmen")) == 1


async def test_the_running_service_sends_a_page_without_waiting_for_its_poll(
        aiohttp_client: AiohttpClient, settings: Settings, tokens: dict[Role, str]) -> None:
    """The decision stage wakes the notifier once the page has committed: with polls 30 s
    apart, the page still goes out at once."""
    receiver = await JsonReceiver().start()
    try:
        app = init_app(with_settings(settings, worker_poll_seconds=30.0, scorer="lite",
                                     deliver_to=receiver.url("{person}")))
        client = await aiohttp_client(app)
        await asyncio.sleep(0.5)  # the notifier's first look at startup finds nothing
        response = await client.post("/api/v1/messages", json=message("wake", text=POWER_LINE),
                                     headers=bearer(tokens[Role.ingest]))
        assert response.status == 202
        await wait_until(lambda: bool(receiver.posts), timeout=10, what="the page")
        assert "/ack/" in receiver.posts[0].json["message"]
    finally:
        await receiver.close()
