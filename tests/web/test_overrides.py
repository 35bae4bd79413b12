"""Overrides (HR) and swaps (staff) through the API, each change in the audit log."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.schedule.fairness import on_call_hours
from guardian.storage import outbox
from guardian.storage.db import utcnow
from guardian.storage.tokens import create_token
from guardian.types import Role
from guardian.web.app import init_app
from tests.conftest import POLICIES, AiohttpClient, Client, bearer, example_policy, with_settings

MADRID = ZoneInfo("Europe/Madrid")

SICK_LEAVE = {"team": "lighting", "kind": "replace", "person": "carmen", "replaces": "antonio",
              "start": "2026-12-01T08:00:00+01:00", "end": "2026-12-04T08:00:00+01:00",
              "reason": "sick leave"}


async def _staff(engine: AsyncEngine, staff_id: str) -> dict[str, str]:
    _, token = await create_token(engine=engine, name=f"{staff_id}-phone", role=Role.staff,
                                  staff_id=staff_id)
    return bearer(token)


async def _json(response: Any) -> dict[str, Any]:
    return dict(await response.json())


async def test_hr_creates_an_override_and_it_is_audited(client: Client,
                                                        tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    created = await client.post("/api/v1/overrides", json=SICK_LEAVE, headers=hr)
    assert created.status == 201
    body = await _json(created)
    assert body["status"] == "active" and body["created_by"] == "hr:test-hr"
    assert body["start"] == "2026-12-01T07:00:00Z"
    listed = await _json(await client.get("/api/v1/overrides?team=lighting", headers=hr))
    assert [o["id"] for o in listed["overrides"]] == [body["id"]]
    audit = await _json(await client.get("/api/v1/audit", headers=hr))
    [event] = audit["events"]
    assert event["action"] == "override.create" and event["actor"] == "hr:test-hr"
    assert event["subject"] == f"override:{body['id']}"
    assert event["details"]["reason"] == "sick leave"
    # A `before` no id can have is refused, not a database error (bigint on PostgreSQL).
    huge = await client.get("/api/v1/audit?before=" + "9" * 30, headers=hr)
    assert huge.status == 422


async def test_listing_filters_by_period_and_team(client: Client,
                                                  tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    await client.post("/api/v1/overrides", json=SICK_LEAVE, headers=hr)
    await client.post("/api/v1/overrides", headers=hr, json={
        "team": "police", "kind": "add", "person": "lucia", "start": "2026-12-24T20:00:00Z",
        "end": "2026-12-25T08:00:00Z", "reason": "Christmas Eve reinforcement"})
    december = "from=2026-12-02T00:00:00Z&to=2026-12-03T00:00:00Z"
    found = await _json(await client.get(f"/api/v1/overrides?{december}", headers=hr))
    assert [o["team"] for o in found["overrides"]] == ["lighting"]
    later = await _json(await client.get(
        "/api/v1/overrides?from=2026-12-04T07:00:00Z", headers=hr))
    assert [o["team"] for o in later["overrides"]] == ["police"]  # end is exclusive
    bad = await client.get("/api/v1/overrides?from=yesterday", headers=hr)
    assert bad.status == 422 and "from" in str(await bad.json())


async def test_invalid_overrides_name_the_field_and_store_nothing(
        client: Client, tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    cases = [
        ({**SICK_LEAVE, "team": "gardening"}, "team"),
        ({**SICK_LEAVE, "person": "nobody"}, "person"),
        ({**SICK_LEAVE, "end": "2026-11-30T08:00:00+01:00"}, "body"),
        ({**SICK_LEAVE, "start": "2026-12-01T08:00:00"}, "start"),
        ({k: v for k, v in SICK_LEAVE.items() if k != "replaces"}, "body"),
        ({**SICK_LEAVE, "kind": "swap"}, "kind"),
        ({**SICK_LEAVE, "reason": ""}, "reason"),
        ({**SICK_LEAVE, "colour": "red"}, "colour"),
    ]
    for payload, field in cases:
        response = await client.post("/api/v1/overrides", json=payload, headers=hr)
        assert response.status == 422, payload
        fields = [e["field"] for e in (await _json(response))["error"]["errors"]]
        assert field in fields, (payload, fields)
    listed = await _json(await client.get("/api/v1/overrides?status=all", headers=hr))
    assert listed["overrides"] == []


async def test_a_swap_is_proposed_accepted_and_audited(client: Client, engine: AsyncEngine,
                                                       tokens: dict[Role, str]) -> None:
    antonio, carmen, jose = [await _staff(engine, s) for s in ("antonio", "carmen", "jose")]
    proposed = await client.post("/api/v1/swaps", headers=antonio, json={
        "team": "lighting", "with": "carmen", "start": "2026-12-05T08:00:00+01:00",
        "end": "2026-12-06T08:00:00+01:00", "reason": "family wedding"})
    assert proposed.status == 201
    swap = await _json(proposed)
    assert (swap["status"], swap["person"], swap["replaces"]) == ("proposed", "carmen",
                                                                  "antonio")
    path = f"/api/v1/swaps/{swap['id']}/accept"
    assert (await client.post(path, headers=antonio)).status == 403
    assert (await client.post(path, headers=jose)).status == 403
    accepted = await client.post(path, headers=carmen)
    assert accepted.status == 200
    assert (await _json(accepted))["status"] == "active"
    again = await client.post(path, headers=carmen)
    assert again.status == 409
    events = (await _json(await client.get("/api/v1/audit",
                                           headers=bearer(tokens[Role.hr]))))["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("swap.accept", "staff:carmen"), ("swap.propose", "staff:antonio")]


async def test_a_swap_can_be_declined_or_withdrawn(client: Client, engine: AsyncEngine,
                                                   tokens: dict[Role, str]) -> None:
    antonio, carmen = await _staff(engine, "antonio"), await _staff(engine, "carmen")
    body = {"team": "lighting", "with": "carmen", "start": "2026-12-05T07:00:00Z",
            "end": "2026-12-06T07:00:00Z", "reason": "exam"}
    first = await _json(await client.post("/api/v1/swaps", json=body, headers=antonio))
    declined = await client.post(f"/api/v1/swaps/{first['id']}/decline", headers=carmen)
    assert (await _json(declined))["status"] == "declined"
    second = await _json(await client.post("/api/v1/swaps", json=body, headers=antonio))
    assert (await client.delete(f"/api/v1/overrides/{second['id']}",
                                headers=carmen)).status == 403
    withdrawn = await client.delete(f"/api/v1/overrides/{second['id']}", headers=antonio)
    assert (await _json(withdrawn))["status"] == "cancelled"
    self_swap = await client.post("/api/v1/swaps", json={**body, "with": "antonio"},
                                  headers=antonio)
    assert self_swap.status == 422
    _, nobody = await create_token(engine=engine, name="kiosk", role=Role.staff)
    unnamed = await client.post("/api/v1/swaps", json=body, headers=bearer(nobody))
    assert unnamed.status == 403
    assert "--staff" in (await _json(unnamed))["error"]["message"]


async def test_hr_cancels_an_override(client: Client, tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    created = await _json(await client.post("/api/v1/overrides", json=SICK_LEAVE, headers=hr))
    cancelled = await client.delete(f"/api/v1/overrides/{created['id']}", headers=hr)
    assert (await _json(cancelled))["status"] == "cancelled"
    assert (await _json(await client.get("/api/v1/overrides", headers=hr)))["overrides"] == []
    assert (await client.delete(f"/api/v1/overrides/{created['id']}",
                                headers=hr)).status == 409
    assert (await client.delete("/api/v1/overrides/999", headers=hr)).status == 404


# --- the people concerned are told ------------------------------------------------------

async def _told(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(recipient, event) of every schedule notice queued, oldest first."""
    c = outbox.notifications_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox.notifications_table)
                                   .where(c.kind == "schedule").order_by(c.id))
                ).mappings().all()
    for row in rows:
        assert "family wedding" not in row["body"] and "sick leave" not in row["body"]
    return [(r["recipient"], r["payload"]["event"]) for r in rows]


WEDDING = {"team": "lighting", "with": "carmen", "start": "2026-12-05T08:00:00+01:00",
           "end": "2026-12-06T08:00:00+01:00", "reason": "family wedding"}


async def test_each_step_of_a_swap_tells_the_other_person(client: Client,
                                                          engine: AsyncEngine) -> None:
    antonio, carmen = await _staff(engine, "antonio"), await _staff(engine, "carmen")
    first = await _json(await client.post("/api/v1/swaps", headers=antonio, json=WEDDING))
    assert await _told(engine) == [("carmen", "swap_proposed")]
    await client.post(f"/api/v1/swaps/{first['id']}/accept", headers=carmen)
    second = await _json(await client.post("/api/v1/swaps", headers=antonio, json=WEDDING))
    await client.post(f"/api/v1/swaps/{second['id']}/decline", headers=carmen)
    third = await _json(await client.post("/api/v1/swaps", headers=antonio, json=WEDDING))
    await client.delete(f"/api/v1/overrides/{third['id']}", headers=antonio)
    assert await _told(engine) == [
        ("carmen", "swap_proposed"), ("antonio", "swap_accepted"),
        ("carmen", "swap_proposed"), ("antonio", "swap_declined"),
        ("carmen", "swap_proposed"), ("carmen", "swap_withdrawn")]
    async with engine.connect() as conn:
        [row] = (await conn.execute(select(outbox.notifications_table).where(
            outbox.notifications_table.c.kind == "schedule").limit(1))).mappings().all()
    assert "Antonio" in row["body"] and "te pide que cubras su turno" in row["body"]


async def test_hr_overrides_tell_both_people_and_never_the_reason(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    created = await _json(await client.post("/api/v1/overrides", json=SICK_LEAVE, headers=hr))
    await client.delete(f"/api/v1/overrides/{created['id']}", headers=hr)
    assert await _told(engine) == [
        ("carmen", "override_replacing"), ("antonio", "override_replaced"),
        ("carmen", "override_cancelled"), ("antonio", "override_cancelled")]


async def test_with_require_approval_a_swap_waits_for_hr(
        aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine,
        tokens: dict[Role, str], tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    limits = policies / "limits.yaml"
    limits.write_text(limits.read_text(encoding="utf-8").replace(
        "require_approval: false", "require_approval: true"), encoding="utf-8")
    client = await aiohttp_client(init_app(with_settings(settings, policies_dir=policies),
                                           run_worker=False))
    antonio, carmen = await _staff(engine, "antonio"), await _staff(engine, "carmen")
    swap = await _json(await client.post("/api/v1/swaps", headers=antonio, json=WEDDING))
    accepted = await _json(await client.post(f"/api/v1/swaps/{swap['id']}/accept",
                                             headers=carmen))
    assert accepted["status"] == "accepted"  # not in force yet
    assert (await client.post(f"/api/v1/swaps/{swap['id']}/approve",
                              headers=carmen)).status == 403
    approved = await _json(await client.post(f"/api/v1/swaps/{swap['id']}/approve",
                                             headers=bearer(tokens[Role.hr])))
    assert approved["status"] == "active"
    assert await _told(engine) == [
        ("carmen", "swap_proposed"), ("antonio", "swap_awaiting_approval"),
        ("lucia", "swap_awaiting_approval"), ("antonio", "swap_approved"),
        ("carmen", "swap_approved")]


async def test_an_override_that_stacks_on_call_weeks_comes_back_with_a_warning(
        client: Client, tokens: dict[Role, str]) -> None:
    """Carmen takes Antonio's on-call week between two of her own: three in a row."""
    policy = example_policy()
    now = utcnow()
    weeks = on_call_hours(policy, now, 6)["carmen"]
    mine = [n for n, spent in enumerate(weeks) if spent > dt.timedelta(hours=84)]
    gap = next(n for n in range(1, 5) if n not in mine and n - 1 in mine and n + 1 in mine)
    monday = now.astimezone(MADRID).date() - dt.timedelta(days=now.astimezone(MADRID).weekday())
    start = dt.datetime.combine(monday + dt.timedelta(weeks=gap), dt.time(8), MADRID)
    body = {"team": "lighting", "kind": "replace", "person": "carmen", "replaces": "antonio",
            "start": start.isoformat(), "end": (start + dt.timedelta(weeks=1)).isoformat(),
            "reason": "cover"}
    # Half a day of cover keeps her under half of that week: no warning.
    shorter = {**body, "end": (start + dt.timedelta(hours=12)).isoformat()}
    assert (await _json(await client.post("/api/v1/overrides", json=shorter,
                                          headers=bearer(tokens[Role.hr]))))["warnings"] == []
    created = await _json(await client.post("/api/v1/overrides", json=body,
                                            headers=bearer(tokens[Role.hr])))
    [warning] = created["warnings"]
    assert "carmen is on call 3 weeks in a row" in warning
