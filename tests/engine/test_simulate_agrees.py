"""`guardian simulate` is the live pipeline: generated feeds replayed through simulate and
through the running service (`init_app` with its engine, real HTTP ingest, apprise to a
real receiver on loopback) on a controlled clock give the same deliveries: who, what kind,
about which message, at which instant."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.engine.simulate import Simulation, next_due, read_replay
from guardian.scoring.assessor import assessor_for
from guardian.scoring.lite import LiteModel
from guardian.storage import outbox
from guardian.storage.messages import messages_table
from guardian.storage.pages import acknowledge, pages_table
from guardian.storage.tokens import create_token
from guardian.types import Role
from guardian.web.app import init_app
from tests.conftest import AiohttpClient, bearer, example_policy, with_settings
from tests.receivers import JsonReceiver

MADRID = ZoneInfo("Europe/Madrid")
START = dt.datetime(2026, 11, 25, 6, tzinfo=MADRID)  # a Wednesday, early
POLICY = example_policy()
TEXTS = [
    ("La farola de la calle Real está apagada", []),
    ("Hay un cable caído en la calle Mayor, saltan chispas", []),
    ("@antonio_luz eres un inútil", ["@antonio_luz"]),
    ("Sois unos inútiles, la basura lleva días sin recoger", []),
    ("Quiero reservar la sala del centro cívico el jueves", []),
    ("Hay fuego en el contenedor de la plaza", []),
    ("@maria_salas quería reservar la sala", ["@maria_salas"]),
]


def feed(seed: int) -> list[dict[str, Any]]:
    """A generated feed: four to nine messages of the kinds above at random instants over
    two days (working hours, evenings and nights), the first an emergency, some
    emergencies acknowledged."""
    rng = random.Random(seed)
    lines: list[dict[str, Any]] = []
    for n in range(rng.randint(4, 9)):
        text, mentions = TEXTS[1] if n == 0 else rng.choice(TEXTS)
        at = START + dt.timedelta(minutes=rng.randint(0, 48 * 60))
        lines.append({"source": "twitter", "external_id": f"m{n}",
                      "author": {"handle": f"@vecino{rng.randint(0, 3)}"},
                      "text": text, "mentions": mentions, "created_at": at.isoformat(),
                      "received_at": at.isoformat()})
        if "cable" in text and rng.random() < 0.5:
            later = at + dt.timedelta(minutes=rng.randint(1, 40))
            lines.append({"ack": f"m{n}", "at": later.isoformat()})
    return lines


async def _live(aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine,
                replay: Path) -> set[tuple[dt.datetime, str, str, str]]:
    receiver = await JsonReceiver().start()
    clock_now = [START]
    app = init_app(with_settings(settings, deliver_to=receiver.url("{person}"),
                                 worker_poll_seconds=0.01), clock=lambda: clock_now[0])
    client = await aiohttp_client(app)
    _, token = await create_token(engine=engine, name="feed", role=Role.ingest)
    external: dict[int, str] = {}

    async def quiet() -> None:
        """Until the service has done all it can at this instant."""
        for _ in range(500):
            async with engine.connect() as conn:
                busy = (await conn.execute(select(func.count()).select_from(messages_table)
                                           .where(messages_table.c.stage.not_in(
                                               ["decided", "notified"])))).scalar_one()
            due = await next_due(engine)
            if busy == 0 and (due is None or due > clock_now[0]):
                await asyncio.sleep(0.05)
                if await next_due(engine) in (due,):
                    return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the service did not settle at {clock_now[0]}")

    async def advance(until: dt.datetime) -> None:
        while True:
            due = await next_due(engine)
            if due is None or due >= until:
                return
            clock_now[0] = max(due, clock_now[0])
            await quiet()

    items = read_replay(replay)
    try:
        for item in items:
            await advance(item.at)
            clock_now[0] = max(clock_now[0], item.at)
            if item.message is not None:
                body = item.message.model_dump(mode="json", by_alias=True)
                response = await client.post("/api/v1/messages", json=body,
                                             headers=bearer(token))
                assert response.status == 202, await response.text()
                async with engine.connect() as conn:
                    ident = (await conn.execute(select(messages_table.c.id).where(
                        messages_table.c.external_id == item.message.external_id))
                    ).scalar_one()
                external[ident] = item.message.external_id
            elif item.ack is not None:
                ident = next(i for i, k in external.items() if k == item.ack)
                async with engine.begin() as conn:
                    page_id = (await conn.execute(select(pages_table.c.id).where(
                        pages_table.c.message_id == ident))).scalars().first()
                    if page_id is not None:
                        await acknowledge(conn=conn, page_id=page_id, actor="test",
                                          now=clock_now[0])
            await quiet()
        await advance(items[-1].at + dt.timedelta(days=8))
        n = outbox.notifications_table.c
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.notifications_table)
                                       .where(n.status == "sent"))).mappings().all()
            items_of: dict[int, list[str]] = {}
            for digest_id, message_id in (await conn.execute(
                    select(n.digest_id, n.message_id).where(n.digest_id.is_not(None)))).all():
                items_of.setdefault(digest_id, []).append(external.get(message_id or 0, ""))
    finally:
        await receiver.close()
    found = set()
    for row in rows:
        key = (",".join(sorted(dict.fromkeys(items_of.get(row["id"], []))))
               if row["kind"] == "digest" else external.get(row["message_id"] or 0, ""))
        found.add((row["sent_at"].astimezone(dt.UTC), row["recipient"], row["kind"], key))
    # Every one went through apprise to the receiver, to its person's path.
    assert len(receiver.posts) >= len(rows)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_simulate_and_the_live_service_deliver_the_same(
        seed: int, aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine,
        tmp_path: Path) -> None:
    replay = tmp_path / "feed.jsonl"
    replay.write_text("\n".join(json.dumps(line) for line in feed(seed)) + "\n",
                      encoding="utf-8")
    simulation = Simulation(POLICY, assessor_for(LiteModel(), POLICY))
    await simulation.replay(read_replay(replay))
    simulated = {(at.astimezone(dt.UTC), who, kind, key)
                 for at, who, kind, key in simulation.deliveries}
    assert simulated  # the feed reaches someone
    assert await _live(aiohttp_client, settings, engine, replay) == simulated
