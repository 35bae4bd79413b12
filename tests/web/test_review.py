"""The moderators' review queue through the API: masked lists, claims, exposure, decisions."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.review.exposure import exposure_table
from guardian.review.queue import (
    PIPELINE_ACTOR,
    NewReview,
    dismissed_undelivered,
    enqueue_review,
    enqueue_reviews,
    review_table,
)
from guardian.review.rules import AuthorStatus
from guardian.review.sanctions import author_status
from guardian.schemas import MessageIn
from guardian.storage.audit import audit_table
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.tokens import create_token
from guardian.types import Role
from guardian.web.app import init_app
from guardian.web.keys import policy_key
from tests.conftest import POLICIES, AiohttpClient, Client, bearer, message, with_settings

A = "moderator:maria"  # the `tokens` fixture's moderator
B = "moderator:elena"  # `_second`, a moderator of this module's policy
RAW = "Eres un imbécil, la farola sigue rota"
MASKED = "Eres un [insulto], la farola sigue rota"
LIMIT = 60  # policies/limits.yaml: exposure_limits.max_abusive_items_per_day
# policies/limits.yaml: moderation.strikes_to_mute and mute_days (the strike rule's only source)
STRIKES_TO_MUTE = 3
AUTO_MUTE_DAYS = 30


async def _held(engine: AsyncEngine, external_id: str, *, level: str = "abusive",
                handle: str = "@troll", text: str = RAW, masked: str = MASKED,
                reason: str | None = None, category: str | None = "street_lighting",
                target: str | None = "lighting") -> int:
    """A stored, scored message held for review; answers the review item's id."""
    body = message(external_id, text=text, author={"handle": handle})
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(body)])
        await conn.execute(update(messages_table).where(messages_table.c.id == stored.id)
                           .values(masked_text=masked, harassment_level=level))
        item = await enqueue_review(conn=conn, message_id=stored.id, reason=reason or level,
                                    level=level, category=category, target=target)
    assert item.id is not None
    return item.id


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The example policies with a second moderator (Elena), so two people share the queue."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    limits = policies / "limits.yaml"
    limits.write_text(limits.read_text(encoding="utf-8").replace(
        "moderators: [maria]", "moderators: [maria, elena]"), encoding="utf-8")
    return with_settings(settings, policies_dir=policies)


async def _second(engine: AsyncEngine) -> dict[str, str]:
    _, token = await create_token(engine=engine, name="second", role=Role.moderator,
                                  staff_id="elena")
    return bearer(token)


async def _json(response: Any, status: int = 200) -> dict[str, Any]:
    body = dict(await response.json())
    assert response.status == status, body
    return body


async def _expire_claim(engine: AsyncEngine, item_id: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(review_table).where(review_table.c.id == item_id).values(
            claim_expires_at=utcnow() - dt.timedelta(seconds=1)))


async def _set_exposure(engine: AsyncEngine, moderator: str, views: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(exposure_table).values(moderator=moderator,
                                                         day=utcnow().date(), views=views))


async def _actions(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(audit_table.c.action, audit_table.c.actor,
                                         audit_table.c.subject).order_by(audit_table.c.id))
    return [(r.action, r.actor, r.subject) for r in rows]


async def test_a_batch_of_review_items_is_queued_once_and_audited_once(
        engine: AsyncEngine) -> None:
    first = await _held(engine, "1")   # already queued (reason "abusive")
    async with engine.begin() as conn:
        stored = await store_messages(conn=conn, messages=[
            MessageIn.model_validate(message(str(n))) for n in (2, 3)])
        batch = [NewReview(1, "abusive", "abusive"),
                 NewReview(stored[0].id, "storm", "rude", "street_lighting", "antonio"),
                 NewReview(stored[1].id, "threat", "threat", "police", None)]
        await enqueue_reviews(conn, batch)
        await enqueue_reviews(conn, batch)   # a retried stage: nothing new
        rows = (await conn.execute(select(review_table).order_by(review_table.c.id))
                ).mappings().all()
    assert [(r["id"] == first, r["message_id"], r["reason"], r["target"]) for r in rows] == [
        (True, 1, "abusive", "lighting"), (False, stored[0].id, "storm", "antonio"),
        (False, stored[1].id, "threat", None)]
    assert all(r["status"] == "open" for r in rows)
    assert await _actions(engine) == [("review.enqueue", PIPELINE_ACTOR, f"review:{r['id']}")
                                      for r in rows]


async def test_the_queue_lists_masked_text_only_and_filters(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod = bearer(tokens[Role.moderator])
    first = await _held(engine, "1")
    second = await _held(engine, "2", level="threat", text="Te voy a encontrar",
                         masked="Te voy a [amenaza]", category="police", target="pablo")
    third = await _held(engine, "3", level="none", text="Hola", masked="Hola", reason="storm",
                        target="pablo")
    async with engine.begin() as conn:
        again = await enqueue_review(conn=conn, message_id=1, reason="abusive",
                                     level="abusive")
        await conn.execute(update(review_table).where(review_table.c.id == first)
                           .values(created_at=utcnow() - dt.timedelta(hours=2)))
    assert again.id == first
    response = await client.get("/api/v1/review", headers=mod)
    body = await _json(response)
    assert [i["id"] for i in body["items"]] == [first, second, third]
    assert body["items"][0]["masked_text"] == MASKED
    assert body["items"][0]["author_handle"] == "@troll"
    assert body["items"][0]["assignable"] is True
    text = await response.text()
    assert "imbécil" not in text and "encontrar" not in text
    assert body["exposure"] == {"abusive_items": 0, "limit": LIMIT}

    async def ids(query: str) -> list[int]:
        found = await _json(await client.get(f"/api/v1/review?{query}", headers=mod))
        return [i["id"] for i in found["items"]]

    assert await ids("level=abusive,threat") == [first, second]
    assert await ids("category=police") == [second]
    assert await ids("target=pablo&order=newest") == [third, second]
    assert await ids("older_than=60") == [first]
    assert await ids("newer_than=60") == [second, third]
    assert await ids("status=decided") == []
    page = await _json(await client.get("/api/v1/review?limit=2", headers=mod))
    assert [i["id"] for i in page["items"]] == [first, second]
    assert page["next_cursor"] == second
    assert await ids(f"limit=2&cursor={second}") == [third]
    last = await _json(await client.get(f"/api/v1/review?limit=2&cursor={second}",
                                        headers=mod))
    assert last["next_cursor"] is None
    enqueued = [a for a in await _actions(engine) if a[0] == "review.enqueue"]
    assert len(enqueued) == 3 and enqueued[0][1] == "system:pipeline"


async def test_one_moderator_holds_a_claim_until_it_expires(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod, other = bearer(tokens[Role.moderator]), await _second(engine)
    item = await _held(engine, "1")
    claimed = await _json(await client.post(f"/api/v1/review/{item}/claim", headers=mod))
    assert claimed["status"] == "claimed" and claimed["claimed_by"] == A
    expires = dt.datetime.fromisoformat(claimed["claim_expires_at"])
    assert dt.timedelta(minutes=14) < expires - utcnow() <= dt.timedelta(minutes=15)
    refused = await _json(await client.post(f"/api/v1/review/{item}/claim", headers=other),
                          409)
    assert A in refused["error"]["message"]
    listed = await _json(await client.get("/api/v1/review", headers=other))
    assert listed["items"][0]["assignable"] is False
    assert A in listed["items"][0]["not_assignable_because"]
    decided_by_other = await client.post(f"/api/v1/review/{item}/decide", headers=other,
                                         json={"decision": "dismiss"})
    assert decided_by_other.status == 409
    assert (await client.post(f"/api/v1/review/{item}/claim", headers=mod)).status == 200

    await _expire_claim(engine, item)
    listed = await _json(await client.get("/api/v1/review?status=open", headers=other))
    assert [(i["id"], i["status"], i["claimed_by"]) for i in listed["items"]] == [
        (item, "open", None)]
    taken = await _json(await client.post(f"/api/v1/review/{item}/claim", headers=other))
    assert taken["claimed_by"] == B
    assert (await client.post(f"/api/v1/review/{item}/claim", headers=mod)).status == 409
    released = await _json(await client.post(f"/api/v1/review/{item}/release",
                                              headers=other))
    assert released["status"] == "open"
    assert (await client.post(f"/api/v1/review/{item}/release", headers=other)).status == 409
    assert (await client.post(f"/api/v1/review/{item}/claim", headers=mod)).status == 200
    assert (await client.post("/api/v1/review/999/claim", headers=mod)).status == 404


async def test_the_raw_text_goes_only_to_the_claim_holder_and_counts_exposure(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod, other = bearer(tokens[Role.moderator]), await _second(engine)
    abusive = await _held(engine, "1")
    mild = await _held(engine, "2", level="none", text="Hola", masked="Hola", reason="storm")
    unclaimed = await _json(await client.get(f"/api/v1/review/{abusive}", headers=mod))
    assert unclaimed["text"] is None and "Claim" in unclaimed["text_hidden_because"]
    assert unclaimed["masked_text"] == MASKED
    await client.post(f"/api/v1/review/{abusive}/claim", headers=mod)
    shown = await _json(await client.get(f"/api/v1/review/{abusive}", headers=mod))
    assert shown["text"] == RAW and shown["text_hidden_because"] is None
    not_mine = await _json(await client.get(f"/api/v1/review/{abusive}", headers=other))
    assert not_mine["text"] is None
    again = await _json(await client.get(f"/api/v1/review/{abusive}", headers=mod))
    assert again["text"] == RAW  # the same item, the same day: counted once
    await client.post(f"/api/v1/review/{mild}/claim", headers=mod)
    assert (await _json(await client.get(f"/api/v1/review/{mild}", headers=mod)))["text"] == (
        "Hola")
    exposure = await _json(await client.get("/api/v1/moderators/me/exposure", headers=mod))
    assert exposure["moderator"] == A
    assert (exposure["abusive_items"], exposure["limit"], exposure["remaining"]) == (
        1, LIMIT, LIMIT - 1)
    assert exposure["day"] == utcnow().date().isoformat()
    theirs = await _json(await client.get("/api/v1/moderators/me/exposure", headers=other))
    assert theirs["abusive_items"] == 0
    reveals = [a for a in await _actions(engine) if a[0] == "review.reveal"]
    assert reveals == [("review.reveal", A, f"review:{abusive}")] * 2 + [
        ("review.reveal", A, f"review:{mild}")]
    assert (await client.get("/api/v1/review/999", headers=mod)).status == 404


async def test_at_the_daily_limit_abusive_items_go_to_someone_else(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod, other = bearer(tokens[Role.moderator]), await _second(engine)
    abusive = await _held(engine, "1")
    threat = await _held(engine, "2", level="threat")
    mild = await _held(engine, "3", level="rude", text="Qué pesados", masked="Qué pesados")
    held_before = await _held(engine, "4")
    await client.post(f"/api/v1/review/{held_before}/claim", headers=mod)
    await _set_exposure(engine, A, LIMIT)
    for item in (abusive, threat):
        refused = await _json(await client.post(f"/api/v1/review/{item}/claim", headers=mod),
                              409)
        assert refused["error"]["code"] == "exposure_limit"
        assert f"You have reached today's limit of {LIMIT}" in refused["error"]["message"]
    assert (await client.post(f"/api/v1/review/{mild}/claim", headers=mod)).status == 200
    listed = await _json(await client.get("/api/v1/review", headers=mod))
    assignable = {i["id"]: (i["assignable"], i["not_assignable_because"])
                  for i in listed["items"]}
    assert assignable[abusive][0] is False and "limit" in str(assignable[abusive][1])
    assert assignable[threat][0] is False
    assert assignable[mild] == (True, None)
    withheld = await _json(await client.get(f"/api/v1/review/{held_before}", headers=mod))
    assert withheld["text"] is None and "limit" in withheld["text_hidden_because"]
    assert (await client.post(f"/api/v1/review/{abusive}/claim", headers=other)).status == 200
    exposure = await _json(await client.get("/api/v1/moderators/me/exposure", headers=mod))
    assert (exposure["abusive_items"], exposure["remaining"]) == (LIMIT, 0)


async def test_decisions_change_the_authors_status(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod = bearer(tokens[Role.moderator])
    dismissed = await _held(engine, "1", handle="@vecina")
    confirmed = await _held(engine, "2", handle="@rude")
    muted = await _held(engine, "3", handle="@loud")
    blocked = await _held(engine, "4", handle="@troll")
    to_police = await _held(engine, "5", handle="@threat", level="threat")
    to_hr = await _held(engine, "6", handle="@colleague")

    async def decide(item: int, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        return await _json(await client.post(f"/api/v1/review/{item}/decide", json=body,
                                             headers=mod), status)

    body = await decide(dismissed, {"decision": "dismiss", "note": "a fair complaint"})
    assert body["item"]["status"] == "decided" and body["item"]["released"] is True
    assert body["item"]["decided_by"] == A and body["item"]["note"] == "a fair complaint"
    assert body["author"] is None
    assert await author_status(engine=engine, source="twitter", handle="@vecina") == (
        AuthorStatus(source="twitter", handle="@vecina"))
    body = await decide(confirmed, {"decision": "confirm"})
    assert body["author"]["strikes"] == 1 and body["item"]["released"] is False
    assert (await author_status(engine=engine, source="twitter", handle="@rude")).strikes == 1
    before = utcnow()
    body = await decide(muted, {"decision": "mute", "mute_days": 7})
    loud = await author_status(engine=engine, source="twitter", handle="@loud")
    assert loud.muted_until is not None and loud.muted(utcnow()) and not loud.blocked
    assert before + dt.timedelta(days=7) <= loud.muted_until <= utcnow() + dt.timedelta(days=7)
    assert not loud.muted(utcnow() + dt.timedelta(days=8))
    await decide(blocked, {"decision": "block"})
    troll = await author_status(engine=engine, source="twitter", handle="@troll")
    assert troll.blocked and troll.silenced(utcnow()) and troll.strikes == 0
    body = await decide(to_police, {"decision": "escalate", "escalate_to": "police"})
    assert body["item"]["escalated_to"] == "police"
    body = await decide(to_hr, {"decision": "escalate", "escalate_to": "hr"})
    assert body["item"]["escalated_to"] == "hr"
    again = await decide(dismissed, {"decision": "confirm"}, 409)
    assert "already decided" in again["error"]["message"]
    async with engine.connect() as conn:
        # Only the dismissed one goes on to staff (the release worker is not running here).
        assert await dismissed_undelivered(conn=conn, limit=10) == [1]
    decided = await _json(await client.get("/api/v1/review?status=decided", headers=mod))
    assert len(decided["items"]) == 6
    assert (await client.post("/api/v1/review/999/decide", json={"decision": "dismiss"},
                              headers=mod)).status == 404


async def test_authors_are_muted_automatically_at_the_strike_count(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod = bearer(tokens[Role.moderator])
    items = [await _held(engine, str(n), handle="@serial") for n in range(STRIKES_TO_MUTE)]
    for n, item in enumerate(items, start=1):
        body = await _json(await client.post(f"/api/v1/review/{item}/decide", headers=mod,
                                             json={"decision": "confirm"}))
        assert body["author"]["strikes"] == n
        assert (body["author"]["muted_until"] is None) == (n < STRIKES_TO_MUTE)
    status = await author_status(engine=engine, source="twitter", handle="@serial")
    assert status.muted_until is not None
    assert status.muted_until - utcnow() > dt.timedelta(days=AUTO_MUTE_DAYS - 1)
    actions = [a[0] for a in await _actions(engine)]
    assert actions.count("author.strike") == STRIKES_TO_MUTE
    assert actions.count("author.auto_mute") == 1


async def test_the_strike_count_and_mute_period_come_from_the_policy(
        aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine,
        tokens: dict[Role, str], tmp_path: Path) -> None:
    policies = settings.policies_dir
    limits = policies / "limits.yaml"
    text = limits.read_text(encoding="utf-8")
    limits.write_text(text.replace("strikes_to_mute: 3", "strikes_to_mute: 2")
                      .replace("mute_days: 30", "mute_days: 7"), encoding="utf-8")
    client = await aiohttp_client(init_app(with_settings(settings, policies_dir=policies),
                                           run_worker=False))
    mod = bearer(tokens[Role.moderator])
    items = [await _held(engine, str(n), handle="@twice") for n in range(2)]
    for item in items:
        body = await _json(await client.post(f"/api/v1/review/{item}/decide", headers=mod,
                                             json={"decision": "confirm"}))
    muted = dt.datetime.fromisoformat(body["author"]["muted_until"])
    assert dt.timedelta(days=6) < muted - utcnow() <= dt.timedelta(days=7)


async def test_bulk_decides_many_and_skips_what_it_must(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod, other = bearer(tokens[Role.moderator]), await _second(engine)
    pile_on = [await _held(engine, str(n), handle="@mob") for n in range(4)]
    theirs = await _held(engine, "9", handle="@someone")
    await client.post(f"/api/v1/review/{theirs}/claim", headers=other)
    await client.post(f"/api/v1/review/{pile_on[0]}/claim", headers=mod)
    body = await _json(await client.post("/api/v1/review/bulk", headers=mod, json={
        "ids": [*pile_on, theirs, 999, pile_on[1]], "decision": "confirm",
        "note": "pile-on against the electrician"}))
    assert body["decided"] == pile_on
    assert [s["id"] for s in body["skipped"]] == [theirs, 999]
    assert B in body["skipped"][0]["because"]
    assert body["skipped"][1]["because"] == "it does not exist"
    [mob] = body["authors"]
    assert mob["handle"] == "@mob" and mob["strikes"] == 4 and mob["muted_until"] is not None
    again = await _json(await client.post("/api/v1/review/bulk", headers=mod, json={
        "ids": pile_on[:2], "decision": "dismiss"}))
    assert again["decided"] == [] and "already decided" in again["skipped"][0]["because"]
    decisions = [a for a in await _actions(engine) if a[0] == "review.decide"]
    assert [d[2] for d in decisions] == [f"review:{i}" for i in pile_on]
    assert {d[1] for d in decisions} == {A}


async def test_every_action_is_in_the_audit_log(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod = bearer(tokens[Role.moderator])
    item = await _held(engine, "1")
    await client.post(f"/api/v1/review/{item}/claim", headers=mod)
    await client.get(f"/api/v1/review/{item}", headers=mod)
    await client.post(f"/api/v1/review/{item}/decide", headers=mod,
                      json={"decision": "mute", "mute_days": 3, "note": "insults"})
    events = (await _json(await client.get("/api/v1/audit",
                                           headers=bearer(tokens[Role.hr]))))["events"]
    assert [(e["action"], e["actor"], e["subject"]) for e in reversed(events)] == [
        ("review.enqueue", "system:pipeline", f"review:{item}"),
        ("review.claim", A, f"review:{item}"),
        ("review.reveal", A, f"review:{item}"),
        ("review.decide", A, f"review:{item}"),
        ("author.mute", A, "author:twitter:@troll"),
    ]
    decide = events[1]
    assert decide["details"]["decision"] == "mute" and decide["details"]["mute_days"] == 3
    assert decide["details"]["note"] == "insults"
    assert events[2]["details"]["counted"] is True


async def test_bad_input_names_the_field_and_changes_nothing(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    mod = bearer(tokens[Role.moderator])
    item = await _held(engine, "1")
    decide = f"/api/v1/review/{item}/decide"
    cases: list[tuple[str, dict[str, Any], str]] = [
        (decide, {"decision": "ban"}, "decision"),
        (decide, {}, "decision"),
        (decide, {"decision": "escalate"}, "escalate_to"),
        (decide, {"decision": "escalate", "escalate_to": "fbi"}, "escalate_to"),
        (decide, {"decision": "confirm", "escalate_to": "hr"}, "escalate_to"),
        (decide, {"decision": "confirm", "mute_days": 3}, "mute_days"),
        (decide, {"decision": "mute", "mute_days": 0}, "mute_days"),
        (decide, {"decision": "mute", "mute_days": 400}, "mute_days"),
        (decide, {"decision": "dismiss", "note": "x" * 1001}, "note"),
        (decide, {"decision": "dismiss", "colour": "red"}, "colour"),
        ("/api/v1/review/bulk", {"decision": "dismiss", "ids": []}, "ids"),
        ("/api/v1/review/bulk", {"decision": "dismiss"}, "ids"),
        ("/api/v1/review/bulk", {"decision": "dismiss", "ids": ["x"]}, "ids[0]"),
        ("/api/v1/review/bulk", {"decision": "dismiss", "ids": list(range(1, 1002))}, "ids"),
    ]
    for path, payload, field in cases:
        response = await client.post(path, json=payload, headers=mod)
        body = await _json(response, 422)
        assert field in [e["field"] for e in body["error"]["errors"]], (payload, body)
        assert f"`{field}`" in body["error"]["message"] or field == "ids"
    for query, field in [("level=awful", "level"), ("status=pending", "status"),
                         ("older_than=-5", "older_than"), ("order=sideways", "order"),
                         ("limit=0", "limit"), ("cursor=x", "cursor")]:
        body = await _json(await client.get(f"/api/v1/review?{query}", headers=mod), 422)
        assert body["error"]["errors"][0]["field"] == field
    body = await _json(await client.post("/api/v1/review/abc/claim", headers=mod), 422)
    assert body["error"]["errors"][0]["field"] == "id"
    listed = await _json(await client.get("/api/v1/review", headers=mod))
    assert listed["items"][0]["status"] == "open"
    assert [a[0] for a in await _actions(engine)] == ["review.enqueue"]


async def test_only_moderators_and_admins_see_the_queue(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    await _held(engine, "1")
    for role in (Role.ingest, Role.staff, Role.hr):
        response = await client.get("/api/v1/review", headers=bearer(tokens[role]))
        body = await _json(response, 403)
        assert "moderator" in body["error"]["message"]
    admin = await _json(await client.get("/api/v1/review", headers=bearer(tokens[Role.admin])))
    assert len(admin["items"]) == 1


async def test_a_moderator_token_acts_only_while_its_person_moderates(
        client: Client, engine: AsyncEngine, settings: Settings) -> None:
    """A moderator token is a person's: taken off `moderation.moderators` (or off the
    staff), they lose the queue at the next policy reload, without anyone revoking it;
    a token that names nobody (made before tokens were bound) is refused, saying how to
    make a good one."""
    item = await _held(engine, "1")
    elena = await _second(engine)
    assert (await client.get(f"/api/v1/review/{item}", headers=elena)).status == 200
    limits = settings.policies_dir / "limits.yaml"
    limits.write_text(limits.read_text(encoding="utf-8").replace(
        "moderators: [maria, elena]", "moderators: [maria]"), encoding="utf-8")
    assert client.app is not None and client.app[policy_key].reload()
    for path in ("/api/v1/review", f"/api/v1/review/{item}",
                 "/api/v1/moderators/me/exposure"):
        refused = await _json(await client.get(path, headers=elena), 403)
        assert "`elena` is not listed in moderation.moderators" in refused["error"]["message"]
    claim = await client.post(f"/api/v1/review/{item}/claim", headers=elena)
    assert claim.status == 403
    _, legacy = await create_token(engine=engine, name="old", role=Role.moderator)
    unbound = await _json(await client.get("/api/v1/review", headers=bearer(legacy)), 403)
    assert "--staff ID" in unbound["error"]["message"]
