"""Emergencies first: a report of a fallen power line that arrives behind a backlog is
triaged at the door, claimed by the workers ahead of the backlog, and its page leaves the
outbox ahead of the notifications the backlog queued. Both databases, the real app."""

from __future__ import annotations

from sqlalchemy import select

from guardian.engine.triage import Triage
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.messages import messages_table, store_messages
from guardian.types import DEFAULT_PRIORITY, PRIORITY, Role, Stage
from guardian.web.keys import engine_key
from tests.conftest import Client, bearer, message
from tests.engine.town import POWER_LINE, Town, madrid

BACKLOG = [f"La farola número {n} de la avenida del Parque está apagada" for n in range(100)]


def _lamps(texts: list[str]) -> list[MessageIn]:
    # Many residents, one message each (one author's hundred would be spam).
    return [MessageIn.model_validate(message(f"lamp-{n}", text=t, mentions=[],
                                             author={"handle": f"@vecino{n}"}))
            for n, t in enumerate(texts)]


async def _stored_priorities(town: Town) -> dict[str, int]:
    c = messages_table.c
    async with town.engine.connect() as conn:
        rows = (await conn.execute(select(c.text, c.priority))).all()
    return {text: priority for text, priority in rows}


async def test_the_api_triages_what_it_stores(client: Client, tokens: dict[Role, str]
                                              ) -> None:
    lamp = message("lamp-1", text="La farola de la calle Olmo parpadea")
    cable = message("cable-1", text="Cables de la luz caídos en la calle Mayor")
    injured = message("injured-1", text="Accidente en la rotonda del polideportivo")
    answer = await client.post("/api/v1/messages", json=[lamp, cable, injured],
                               headers=bearer(tokens[Role.ingest]))
    assert answer.status == 202
    c = messages_table.c
    async with client.app[engine_key].connect() as conn:
        rows: dict[str, int] = dict((await conn.execute(select(c.external_id, c.priority))).all())
    assert rows == {"lamp-1": DEFAULT_PRIORITY, "cable-1": PRIORITY["emergency"],
                    "injured-1": PRIORITY["high"]}


async def test_an_emergency_behind_a_backlog_is_decided_and_paged_first(town: Town) -> None:
    town.at(madrid(11, 25, 10))  # a weekday morning: Carmen on duty gets every lamp
    triage = Triage(lambda: town.policy)
    backlog = _lamps(BACKLOG)
    async with town.engine.begin() as conn:
        await store_messages(conn=conn, messages=backlog, now=town.clock.now,
                             priorities=await triage.priorities(backlog, town.clock.now))
    # The backlog is partly worked on, queueing notifications, when the emergency comes.
    worker = town.worker()
    await worker.run_once()
    emergency = MessageIn.model_validate(message("cable", text=POWER_LINE, mentions=[]))
    async with town.engine.begin() as conn:
        [stored] = await store_messages(
            conn=conn, messages=[emergency], now=town.clock.now,
            priorities=await triage.priorities([emergency], town.clock.now))
    assert (await _stored_priorities(town))[POWER_LINE] == PRIORITY["emergency"]

    # The very next claim takes it, ahead of the 68 lamps still waiting.
    await worker.run_once()
    c = messages_table.c
    async with town.engine.connect() as conn:
        stages: dict[int, str] = dict((await conn.execute(select(c.id, c.stage))).all())
    assert stages[stored.id] == Stage.notified.value
    waiting = [i for i, stage in stages.items() if stage == Stage.received.value]
    assert len(waiting) == len(BACKLOG) - 2 * 32 + 1

    # In the outbox, its page goes before the lamps' notifications queued earlier.
    claimed, _ = await outbox.claim_due(town.engine, town.clock.now, limit=1,
                                        lease_seconds=60)
    assert [(n.kind, n.message_id) for n in claimed] == [("page", stored.id)]
    assert claimed[0].priority == PRIORITY["emergency"]
    async with town.engine.connect() as conn:
        kinds = (await conn.execute(select(outbox.notifications_table.c.kind))).scalars().all()
    assert kinds.count("deliver") >= 32  # the lamps were queued first


async def test_equal_priorities_keep_their_arrival_order(town: Town) -> None:
    triage = Triage(lambda: town.policy)
    backlog = _lamps(BACKLOG[:40])
    async with town.engine.begin() as conn:
        stored = await store_messages(conn=conn, messages=backlog, now=town.clock.now,
                                      priorities=await triage.priorities(backlog,
                                                                         town.clock.now))
    await town.worker().run_once()
    c = messages_table.c
    async with town.engine.connect() as conn:
        done = set((await conn.execute(select(c.id).where(
            c.stage == Stage.notified.value))).scalars())
    assert done == {s.id for s in stored[:32]}


async def test_a_mention_of_someone_on_call_is_weighed_without_ingest_waiting(
        town: Town) -> None:
    town.at(madrid(11, 25, 3))  # Antonio is on call for lighting at night
    triage = Triage(lambda: town.policy, town.timeline.availability)
    calling = _lamps(["@antonio_luz la farola de mi portal parpadea"])
    # Before any timeline is built, ingest does not wait for one: normal order...
    assert await triage.priorities(calling, town.clock.now) == [DEFAULT_PRIORITY]
    # ...and it is built meanwhile, in the background.
    await triage.warm(town.clock.now)
    assert await triage.priorities(calling, town.clock.now) == [PRIORITY["high"]]
    # Carmen is not on call: her mention changes nothing.
    assert await triage.priorities(_lamps(["@carmen_luz la farola parpadea"]),
                                   town.clock.now) == [DEFAULT_PRIORITY]
    await triage.close()
