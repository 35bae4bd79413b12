"""Swaps in the browser, over HTTP: ask a teammate (times on one's own clock), answer,
withdraw; the API's rules and notices, bad input answered with the form and a sentence."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.notifications import notifications_table
from guardian.storage.overrides import list_overrides
from guardian.types import OverrideStatus
from tests.conftest import Client
from tests.ui.conftest import sign_in_as

FORM = {"team": "lighting", "with": "carmen", "start": "2026-12-20T08:00",
        "end": "2026-12-20T15:00", "reason": "Boda de mi hermana"}


async def _swaps(engine: AsyncEngine) -> list[tuple[str, str, str | None, dt.datetime]]:
    found = await list_overrides(engine=engine, statuses=tuple(OverrideStatus))
    return [(o.status, o.person, o.replaces, o.starts_at) for o in found]


async def _told(engine: AsyncEngine, who: str) -> list[str]:
    c = notifications_table.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(c.payload).where(c.recipient == who,
                                                          c.kind == "schedule"))
    return [str(p["event"]) for p in rows.scalars()]


async def test_ask_a_teammate_who_answers_from_their_page(client: Client,
                                                         engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "antonio")
    asked = await client.post("/swaps", data={"csrf_token": token, **FORM},
                              allow_redirects=False)
    assert asked.status == 303 and asked.headers["Location"] == "/swaps?done=proposed"
    # 08:00 on Antonio's clock (Madrid, winter) is 07:00 UTC.
    [(status, person, replaces, start)] = await _swaps(engine)
    assert (status, person, replaces) == ("proposed", "carmen", "antonio")
    assert start == dt.datetime(2026, 12, 20, 7, 0, tzinfo=dt.UTC)
    assert await _told(engine, "carmen") == ["swap_proposed"]
    mine = await (await client.get("/swaps")).text()
    assert "Carmen Ruiz cubriría tu turno" in mine and "esperando respuesta" in mine
    # Carmen answers on her page.
    client.session.cookie_jar.clear()
    token = await sign_in_as(client, engine, "carmen")
    page = await (await client.get("/swaps")).text()
    assert "Antonio Molina te pide que cubras su turno" in page
    assert "20/12/2026 08:00 \u2013 20/12/2026 15:00" in page and "Boda de mi hermana" in page
    swap_id = page.split('action="/swaps/')[1].split("/")[0]
    done = await client.post(f"/swaps/{swap_id}/accept", data={"csrf_token": token})
    assert done.status == 200 and "Aceptado" in await done.text()
    # The example town needs no HR approval: it applies, and Antonio is told.
    assert (await _swaps(engine))[0][0] == "active"
    assert "swap_accepted" in await _told(engine, "antonio")
    # Answering twice is refused with a page, nothing changes.
    again = await client.post(f"/swaps/{swap_id}/accept", data={"csrf_token": token})
    assert again.status == 409


async def test_only_the_person_asked_answers_and_the_asker_withdraws(
        client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "antonio")
    await client.post("/swaps", data={"csrf_token": token, **FORM})
    [swap] = await list_overrides(engine=engine, statuses=(OverrideStatus.proposed,))
    # Antonio may not accept his own proposal; José (another team) may not either.
    refused = await client.post(f"/swaps/{swap.id}/accept", data={"csrf_token": token})
    assert refused.status == 403
    withdrawn = await client.post(f"/swaps/{swap.id}/withdraw", data={"csrf_token": token})
    assert withdrawn.status == 200 and "Retirado" in await withdrawn.text()
    assert (await _swaps(engine))[0][0] == "cancelled"
    assert await _told(engine, "carmen") == ["swap_proposed", "swap_withdrawn"]
    assert (await client.post("/swaps/999999/decline", data={"csrf_token": token})
            ).status == 404
    assert (await client.post(f"/swaps/{swap.id}/decline", data={})).status == 403  # CSRF


async def test_bad_proposals_come_back_with_the_form_and_a_sentence(
        client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "antonio")
    cases = [({"start": "mañana"}, "Indica el inicio y el fin"),
             ({"end": "2026-12-20T07:00"}, "El fin debe ser posterior"),
             ({"reason": "   "}, "Di por qué"),
             ({"with": "pablo"}, "Elige uno de tus equipos"),      # not in lighting
             ({"with": "antonio"}, "Elige uno de tus equipos"),    # himself
             ({"team": "police"}, "Elige uno de tus equipos")]     # not his team
    for change, sentence in cases:
        answer = await client.post("/swaps", data={"csrf_token": token, **FORM, **change})
        text = await answer.text()
        assert answer.status == 422 and sentence in text, change
        assert 'value="Boda de mi hermana"' in text or change.get("reason")  # kept
    assert await _swaps(engine) == []
