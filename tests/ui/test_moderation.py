"""The moderators' queue over plain HTTP (every action is a form POST): masked by default,
the original only after a reveal counted exactly as the API counts it, decisions and
their sanctions, escalations, bulk, storms, filters, and the calm page at the limit."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.review.queue import review_table
from guardian.review.sanctions import author_status
from guardian.storage.audit import audit_table
from guardian.storage.outbox import notifications_table
from guardian.storage.tokens import create_token
from guardian.types import Role
from tests.conftest import Client, bearer
from tests.ui.conftest import LIMIT, MASKED, RAW, held, sign_in_as


async def _status(engine: AsyncEngine, item_id: int) -> dict[str, object]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(review_table).where(review_table.c.id == item_id))
               ).mappings().one()
    return dict(row)


async def test_the_queue_shows_masked_text_only(client: Client, engine: AsyncEngine) -> None:
    item = await held(engine, "1")
    await sign_in_as(client, engine, "maria")
    page = await (await client.get("/moderation")).text()
    assert MASKED in page and RAW not in page
    assert f'href="/moderation/{item}"' in page
    assert "Alumbrado" in page  # the category by its team's name in the policy
    detail = await (await client.get(f"/moderation/{item}")).text()
    assert MASKED in detail and RAW not in detail


async def test_claim_reveal_and_decide_with_plain_forms(client: Client,
                                                        engine: AsyncEngine) -> None:
    first = await held(engine, "1")
    second = await held(engine, "2", handle="@otra")
    token = await sign_in_as(client, engine, "maria")
    # Revealing before claiming shows nothing and counts nothing.
    early = await client.post(f"/moderation/{first}/reveal", data={"csrf_token": token})
    assert early.status == 409 and RAW not in await early.text()
    claimed = await client.post(f"/moderation/{first}/claim", data={"csrf_token": token},
                                allow_redirects=False)
    assert claimed.headers["Location"] == f"/moderation/{first}"
    page = await (await client.get(f"/moderation/{first}")).text()
    assert "Tuyo durante 15 minutos más" in page and RAW not in page
    revealed = await client.post(f"/moderation/{first}/reveal", data={"csrf_token": token})
    assert revealed.status == 200 and RAW in await revealed.text()
    # A GET afterwards is masked again: the original is shown once per button.
    assert RAW not in await (await client.get(f"/moderation/{first}")).text()
    decided = await client.post(f"/moderation/{first}/decide",
                                data={"csrf_token": token, "decision": "confirm"},
                                allow_redirects=False)
    # On to the next item.
    assert decided.headers["Location"] == f"/moderation/{second}?decided={first}&decision=confirm"
    assert (await _status(engine, first))["decision"] == "confirm"
    assert (await author_status(engine=engine, source="twitter", handle="@chorlito")).strikes == 1
    next_page = await (await client.get(decided.headers["Location"])).text()
    assert "confirmado como abuso" in next_page
    # The author's strike shows beside their next item.
    third = await held(engine, "3")
    beside = await (await client.get(f"/moderation/{third}")).text()
    assert "Avisos: 1" in beside and f'href="/moderation/{first}"' in beside


async def test_a_reveal_counts_exactly_as_the_api_counts_it(client: Client,
                                                            engine: AsyncEngine) -> None:
    """The same person by token and by session is one moderator with one count."""
    item = await held(engine, "1")
    _, api = await create_token(engine=engine, name="maria-api", role=Role.moderator,
                                staff_id="maria")
    token = await sign_in_as(client, engine, "maria")
    await client.post(f"/moderation/{item}/claim", data={"csrf_token": token})
    for _ in range(2):  # twice: one item counts once a day
        await client.post(f"/moderation/{item}/reveal", data={"csrf_token": token})
    exposure = await (await client.get("/api/v1/moderators/me/exposure",
                                       headers=bearer(api))).json()
    assert exposure["abusive_items"] == 1
    # And the API's own reading of the item, by its holder, counts nothing more.
    read = await (await client.get(f"/api/v1/review/{item}", headers=bearer(api))).json()
    assert read["text"] == RAW
    exposure = await (await client.get("/api/v1/moderators/me/exposure",
                                       headers=bearer(api))).json()
    assert exposure["abusive_items"] == 1
    async with engine.connect() as conn:
        actors = set((await conn.execute(select(audit_table.c.actor).where(
            audit_table.c.action == "review.reveal"))).scalars())
    assert actors == {"moderator:maria"}


async def test_escalation_needs_a_reason_and_tells_hr(client: Client,
                                                      engine: AsyncEngine) -> None:
    item = await held(engine, "1", level="threat")
    token = await sign_in_as(client, engine, "maria")
    missing = await client.post(f"/moderation/{item}/decide",
                                data={"csrf_token": token, "decision": "escalate"})
    assert missing.status == 422 and "escalate_to" in await missing.text()
    done = await client.post(f"/moderation/{item}/decide", allow_redirects=False, data={
        "csrf_token": token, "decision": "escalate", "escalate_to": "hr",
        "note": "Insiste cada noche"})
    assert done.status == 303
    row = await _status(engine, item)
    assert (row["decision"], row["escalated_to"], row["note"]) == (
        "escalate", "hr", "Insiste cada noche")
    async with engine.connect() as conn:
        told = set((await conn.execute(select(notifications_table.c.recipient))).scalars())
    assert "lucia" in told  # moderation.hr


async def test_mute_and_block_the_author(client: Client, engine: AsyncEngine) -> None:
    first = await held(engine, "1", handle="@uno")
    second = await held(engine, "2", handle="@dos")
    token = await sign_in_as(client, engine, "maria")
    await client.post(f"/moderation/{first}/decide",
                      data={"csrf_token": token, "decision": "mute", "mute_days": "7"})
    await client.post(f"/moderation/{second}/decide",
                      data={"csrf_token": token, "decision": "block"})
    assert (await author_status(engine=engine, source="twitter", handle="@uno")).muted_until
    assert (await author_status(engine=engine, source="twitter", handle="@dos")).blocked


async def test_bulk_decides_the_ticked_and_skips_what_others_hold(
        client: Client, engine: AsyncEngine) -> None:
    mine = [await held(engine, str(n), level="rude") for n in range(3)]
    theirs = await held(engine, "9", level="rude")
    _, elena = await create_token(engine=engine, name="elena", role=Role.moderator,
                                  staff_id="elena")
    await client.post(f"/api/v1/review/{theirs}/claim", headers=bearer(elena))
    token = await sign_in_as(client, engine, "maria")
    done = await client.post("/moderation/bulk", allow_redirects=False, data=[
        ("csrf_token", token), ("decision", "dismiss"), ("back", "/moderation"),
        *[("ids", str(i)) for i in [*mine, theirs]]])
    assert done.headers["Location"] == "/moderation?bulk_decided=3&bulk_skipped=1"
    assert [(await _status(engine, i))["decision"] for i in mine] == ["dismiss"] * 3
    assert (await _status(engine, theirs))["decision"] is None
    page = await (await client.get(done.headers["Location"])).text()
    assert "3 elementos decididos, 1 omitidos" in page
    nothing = await client.post("/moderation/bulk", data={"csrf_token": token,
                                                          "decision": "dismiss"})
    assert nothing.status == 422


async def test_a_storm_is_one_group_decided_at_once(client: Client,
                                                    engine: AsyncEngine) -> None:
    storm = [await held(engine, str(n), handle=f"@autor{n}", reason="storm", target="antonio")
             for n in range(4)]
    alone = await held(engine, "9")
    token = await sign_in_as(client, engine, "maria")
    page = await (await client.get("/moderation")).text()
    assert "4 mensajes de 4 autores dirigidos a Antonio Molina" in page
    await client.post("/moderation/bulk", data=[
        ("csrf_token", token), ("decision", "confirm"), *[("ids", str(i)) for i in storm]])
    assert {(await _status(engine, i))["decision"] for i in storm} == {"confirm"}
    assert (await _status(engine, alone))["decision"] is None


async def test_filters_by_category_level_and_target(client: Client,
                                                    engine: AsyncEngine) -> None:
    lamp = await held(engine, "1", category="street_lighting", target="lighting")
    rude = await held(engine, "2", level="rude", category="cleaning", target="carmen")
    await sign_in_as(client, engine, "maria")

    async def listed(query: str) -> set[int]:
        page = await (await client.get(f"/moderation?{query}")).text()
        return {i for i in (lamp, rude) if f'id="item-{i}"' in page}

    assert await listed("") == {lamp, rude}
    assert await listed("category=cleaning") == {rude}
    assert await listed("level=abusive") == {lamp}
    assert await listed("target=lighting") == {lamp}
    assert await listed("category=nonsense") == {lamp, rude}  # unknown: ignored


async def test_at_the_limit_a_calm_page_and_who_else_is_on(client: Client,
                                                          engine: AsyncEngine) -> None:
    items = [await held(engine, str(n)) for n in range(LIMIT + 1)]
    rude = await held(engine, "rude", level="rude")
    token = await sign_in_as(client, engine, "maria")
    for item in items[:LIMIT]:
        await client.post(f"/moderation/{item}/claim", data={"csrf_token": token})
        await client.post(f"/moderation/{item}/reveal", data={"csrf_token": token})
        await client.post(f"/moderation/{item}/decide",
                          data={"csrf_token": token, "decision": "confirm"})
    page = await (await client.get("/moderation")).text()
    assert "Por hoy has leído bastante" in page and "Elena Castro" in page
    assert MASKED not in page
    # Claiming one more abusive item is refused with the API's own sentence.
    refused = await client.post(f"/moderation/{items[-1]}/claim", data={"csrf_token": token})
    assert refused.status == 409 and "today's limit of 3" in unescape(await refused.text())
    # Rude items are still open.
    rude_page = await (await client.get("/moderation?level=rude")).text()
    assert f'id="item-{rude}"' in rude_page


async def test_an_unknown_item_is_a_404_page(client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "maria")
    assert (await client.get("/moderation/999")).status == 404
    assert (await client.get("/moderation/abc")).status == 404
    missing = await client.post("/moderation/999/claim", data={"csrf_token": token})
    assert missing.status == 404 and "text/html" in missing.headers["Content-Type"]


async def test_a_claim_in_place_that_fails_shows_the_item_again(client: Client,
                                                                engine: AsyncEngine) -> None:
    """htmx swaps only successful answers: a claim someone else won meanwhile answers with
    the queue again, whose card says who holds it."""
    item = await held(engine, "1")
    _, elena = await create_token(engine=engine, name="elena", role=Role.moderator,
                                  staff_id="elena")
    await client.post(f"/api/v1/review/{item}/claim", headers=bearer(elena))
    token = await sign_in_as(client, engine, "maria")
    lost = await client.post(f"/moderation/{item}/claim", allow_redirects=False,
                             headers={"HX-Request": "true"},
                             data={"csrf_token": token, "back": "/moderation"})
    assert (lost.status, lost.headers["Location"]) == (303, "/moderation")
    card = await (await client.get("/moderation")).text()
    assert "Lo tiene otra persona" in card and "moderator:elena holds its claim" in card
    plain = await client.post(f"/moderation/{item}/claim", data={"csrf_token": token})
    assert plain.status == 409
