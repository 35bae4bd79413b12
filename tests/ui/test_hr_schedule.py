"""HR's pages over HTTP: the teams' schedule as weeks (duty, on call, gaps in red and in
words, the town's holidays), and the overrides and swaps (create, approve, decline,
cancel) through the API's own rules, audited; staff refused, bad input answered with the
form and a sentence."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.storage.audit import list_audit
from guardian.storage.overrides import create_override, list_overrides
from guardian.types import OverrideStatus
from tests.conftest import Client, with_settings
from tests.ui.conftest import sign_in_as

MADRID = ZoneInfo("Europe/Madrid")
DASH = "\u2013"  # between two times
GAP = "Hueco: nadie de turno ni de guardia, "
POLICE = """      - members: [pablo, raquel]
        shift: daily
        hand_off: "08:00"
        start: 2026-01-05
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The example town whose police shifts keep only days (08:00 to 20:00): a known
    gap every night, with no one on duty or on call."""
    rotations = settings.policies_dir / "rotations.yaml"
    text = rotations.read_text(encoding="utf-8")
    assert POLICE in text
    rotations.write_text(text.replace(
        POLICE, POLICE + '        restrictions: {mon-sun: "08:00-20:00"}\n'), encoding="utf-8")
    return with_settings(settings, policies_dir=settings.policies_dir)


def _next_monday() -> dt.date:
    today = dt.datetime.now(MADRID).date()
    return today + dt.timedelta(days=7 - today.weekday())


def _team(html: str, team: str) -> str:
    """One team's section of the schedule page."""
    return html.split(f'id="team-{team}"')[1].split("</section>")[0]


async def test_the_schedule_shows_who_gaps_and_holidays(client: Client,
                                                       engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "lucia")
    response = await client.get("/hr/schedule?from=2026-12-07&weeks=1")
    assert response.status == 200
    html = await response.text()
    assert "Semana del lunes 07/12/2026" in html and "Semana del lunes 14/12" not in html
    police = _team(html, "police")
    # The known gap: red (a class the stylesheet colours) and in words.
    assert f'<p class="gap">{GAP}20:00{DASH}24:00</p>' in police
    assert f"{GAP}00:00{DASH}08:00" in police
    assert 'class="has-gap"' in police
    assert "huecos sin nadie de turno ni de guardia" in police
    assert (f"08:00{DASH}20:00 Pablo Jiménez" in police
            or f"08:00{DASH}20:00 Raquel Sánchez" in police)
    # 8 December, a national holiday of the town's calendar, is marked.
    assert "Festivo: Inmaculada Concepción" in police
    assert 'class="holiday"' in _team(html, "lighting")
    lighting = _team(html, "lighting")
    assert "Sin huecos en estas semanas." in lighting and "Hueco:" not in lighting
    # The week of 7 December 2026 is the 48th since the rotation's start: Antonio's.
    assert f"08:00{DASH}24:00 Antonio Molina" in lighting
    # One team, and then twelve weeks at most.
    only = await (await client.get("/hr/schedule?team=police&from=2026-12-07")).text()
    assert 'id="team-police"' in only and 'id="team-lighting"' not in only
    assert only.count("<caption>") == 4
    assert (await client.get("/hr/schedule?weeks=12")).status == 200


@pytest.mark.parametrize(("query", "sentence"), [
    ("weeks=13", "Muestra de 1 a 12 semanas"),
    ("weeks=cuatro", "Muestra de 1 a 12 semanas"),
    ("from=2026-12-08", "Empieza en un lunes"),
    ("from=ayer", "Empieza en un lunes"),
    ("team=bomberos", "Ese equipo no está en la política"),
])
async def test_a_bad_query_is_a_sentence(client: Client, engine: AsyncEngine, query: str,
                                         sentence: str) -> None:
    await sign_in_as(client, engine, "lucia")
    response = await client.get(f"/hr/schedule?{query}")
    assert response.status == 422
    assert sentence in await response.text()


async def test_an_override_made_on_the_page_changes_the_schedule(
        client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "lucia")
    monday = _next_monday()
    shown = f"/hr/schedule?team=lighting&weeks=1&from={monday.isoformat()}"
    assert "Elena Castro" not in _team(await (await client.get(shown)).text(), "lighting")
    day = (monday + dt.timedelta(days=2)).isoformat()
    created = await client.post("/hr/overrides", allow_redirects=False, data={
        "csrf_token": token, "team": "lighting", "kind": "add", "person": "elena",
        "replaces": "carmen", "start": f"{day}T09:00", "end": f"{day}T17:00",
        "reason": "Refuerzo por la feria"})
    assert created.status == 303, await created.text()
    assert created.headers["Location"] == "/hr/overrides?done=created"
    [override] = await list_overrides(engine=engine)
    # 09:00 on the town's clock (Madrid); `replaces` is ignored for an addition.
    assert override.starts_at == dt.datetime.fromisoformat(f"{day}T09:00").replace(
        tzinfo=MADRID).astimezone(dt.UTC)
    assert (override.kind, override.person, override.replaces, override.created_by) == (
        "add", "elena", None, "hr:lucia")
    lighting = _team(await (await client.get(shown)).text(), "lighting")
    assert "Elena Castro" in lighting and '<span class="badge">cambio</span>' in lighting
    listed = await (await client.get("/hr/overrides")).text()
    assert "Refuerzo por la feria" in listed and "Elena Castro, añadido" in listed
    [event, *_] = await list_audit(engine=engine)
    assert (event.actor, event.action) == ("hr:lucia", "override.create")


async def test_an_override_over_the_on_call_limit_is_said_on_the_page_once(
        client: Client, engine: AsyncEngine) -> None:
    """Antonio takes Carmen's place in street lighting for three weeks: with his own
    on-call weeks he is over the example's limit of two in a row. The override is made
    (HR decides), the page says so in Spanish, and reloading it makes nothing twice."""
    token = await sign_in_as(client, engine, "lucia")
    monday = _next_monday()
    created = await client.post("/hr/overrides", allow_redirects=False, data={
        "csrf_token": token, "team": "lighting", "kind": "replace", "person": "antonio",
        "replaces": "carmen", "start": f"{monday.isoformat()}T00:00",
        "end": f"{(monday + dt.timedelta(days=21)).isoformat()}T00:00",
        "reason": "Carmen de permiso"})
    assert created.status == 303, await created.text()
    assert created.headers["Location"] == (
        "/hr/overrides?done=created&check=antonio&check=carmen")
    for _ in range(2):  # the redirect followed, then a reload
        html = await (await client.get(created.headers["Location"])).text()
        warning = html.split('class="notice warn"')[1].split("</div>")[0]
        assert "Antonio Molina está de guardia" in warning
        assert "semanas seguidas" in warning and "Carmen Ruiz" not in warning
        assert "is on call" not in html
    assert len(await list_overrides(engine=engine)) == 1
    # Without a change just made, no warning box, whatever the address says.
    plain = await (await client.get("/hr/overrides?check=antonio")).text()
    assert 'class="notice warn"' not in plain


async def _made(engine: AsyncEngine, status: OverrideStatus, reason: str) -> int:
    start = dt.datetime.combine(_next_monday(), dt.time(9), tzinfo=MADRID)
    async with engine.begin() as conn:
        made = await create_override(
            conn=conn, team="lighting", kind="replace", person="carmen", replaces="antonio",
            starts_at=start, ends_at=start + dt.timedelta(hours=8), reason=reason,
            created_by="staff:antonio", status=status)
    assert made.id is not None
    return made.id


async def test_approving_a_swap_over_the_on_call_limit_says_so(
        client: Client, engine: AsyncEngine) -> None:
    """Antonio agreed to take Carmen's street-lighting weeks for three weeks (a swap both
    accepted, waiting for HR): approving it puts him over the limit, and the page says
    so in Spanish under "Aprobada"."""
    token = await sign_in_as(client, engine, "lucia")
    start = dt.datetime.combine(_next_monday(), dt.time(), tzinfo=MADRID)
    async with engine.begin() as conn:
        swap = await create_override(
            conn=conn, team="lighting", kind="replace", person="antonio", replaces="carmen",
            starts_at=start, ends_at=start + dt.timedelta(days=21), reason="Cambio",
            created_by="staff:carmen", status=OverrideStatus.accepted)
    approved = await client.post(f"/hr/overrides/{swap.id}/approve", allow_redirects=False,
                                 data={"csrf_token": token})
    assert approved.status == 303
    assert approved.headers["Location"] == "/hr/overrides?done=approved&check=antonio"
    html = await (await client.get(approved.headers["Location"])).text()
    warning = html.split('class="notice warn"')[1].split("</div>")[0]
    assert "Aprobada: la permuta está en vigor. Atención a los límites" in warning
    assert "Antonio Molina está de guardia" in warning


async def test_approve_decline_and_cancel(client: Client, engine: AsyncEngine) -> None:
    approved = await _made(engine, OverrideStatus.accepted, "Médico por la mañana")
    declined = await _made(engine, OverrideStatus.accepted, "Mudanza")
    cancelled = await _made(engine, OverrideStatus.active, "Baja de un día")
    token = await sign_in_as(client, engine, "lucia")
    listed = await (await client.get("/hr/overrides")).text()
    # Reasons are HR's to read.
    assert "Médico por la mañana" in listed
    assert "aceptado, a la espera de Recursos Humanos" in listed
    assert f'action="/hr/overrides/{approved}/approve"' in listed
    assert f'action="/hr/overrides/{cancelled}/cancel"' in listed
    for override_id, action, notice in ((approved, "approve", "Aprobada"),
                                        (declined, "decline", "Rechazada"),
                                        (cancelled, "cancel", "Cancelado")):
        done = await client.post(f"/hr/overrides/{override_id}/{action}",
                                 data={"csrf_token": token})
        assert done.status == 200 and notice in await done.text()
    found = {o.id: o.status for o in await list_overrides(
        engine=engine, statuses=tuple(OverrideStatus))}
    assert found == {approved: "active", declined: "declined", cancelled: "cancelled"}
    events = [(e.actor, e.action, e.subject) for e in await list_audit(engine=engine)]
    assert ("hr:lucia", "swap.approve", f"override:{approved}") in events
    assert ("hr:lucia", "swap.decline", f"override:{declined}") in events
    assert ("hr:lucia", "override.cancel", f"override:{cancelled}") in events
    # Twice is refused with a page; an unknown one is not found.
    again = await client.post(f"/hr/overrides/{cancelled}/cancel", data={"csrf_token": token})
    assert again.status == 409
    assert (await client.post("/hr/overrides/999999/cancel", data={"csrf_token": token})
            ).status == 404


async def test_staff_and_forms_without_the_token_are_refused(client: Client,
                                                            engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "antonio")
    for path in ("/hr/schedule", "/hr/overrides"):
        assert (await client.get(path)).status == 403
    assert (await client.post("/hr/overrides", data={"csrf_token": token})).status == 403
    client.session.cookie_jar.clear()
    await sign_in_as(client, engine, "lucia")
    refused = await client.post("/hr/overrides", data={
        "team": "lighting", "kind": "add", "person": "elena", "start": "2030-01-01T09:00",
        "end": "2030-01-01T17:00", "reason": "Sin token"})
    assert refused.status == 403
    assert await list_overrides(engine=engine, statuses=tuple(OverrideStatus)) == []


@pytest.mark.parametrize(("change", "sentence"), [
    ({"start": "mañana"}, "Indica el inicio y el fin con fecha y hora."),
    ({"end": "2030-01-01T08:00"}, "El fin debe ser posterior al inicio"),
    ({"reason": "  "}, "Di por qué"),
    ({"kind": "replace", "replaces": ""}, "Indica a quién sustituye la persona"),
    ({"kind": "replace", "replaces": "elena"}, "Indica a quién sustituye la persona"),
    ({"person": "nadie"}, "Elige un equipo, un tipo de cambio y una persona"),
    ({"team": "bomberos"}, "Elige un equipo, un tipo de cambio y una persona"),
    ({"kind": "swap"}, "Elige un equipo, un tipo de cambio y una persona"),
])
async def test_bad_input_is_the_form_again_with_a_sentence(
        client: Client, engine: AsyncEngine, change: dict[str, str], sentence: str) -> None:
    token = await sign_in_as(client, engine, "lucia")
    form = {"csrf_token": token, "team": "lighting", "kind": "add", "person": "elena",
            "replaces": "", "start": "2030-01-01T09:00", "end": "2030-01-01T17:00",
            "reason": "Refuerzo", **change}
    response = await client.post("/hr/overrides", data=form)
    assert response.status == 422
    html = await response.text()
    assert sentence in html and 'role="alert"' in html
    assert await list_overrides(engine=engine, statuses=tuple(OverrideStatus)) == []
