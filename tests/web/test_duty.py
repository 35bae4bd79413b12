"""On duty and on call, shifts and iCal feeds for the example town, through the API."""

from __future__ import annotations

from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

import icalendar
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.storage.tokens import create_token
from guardian.types import Role
from tests.conftest import Client, bearer

WEDNESDAY_MORNING = "2026-11-25T10:00:00+01:00"   # a working day in Madrid
WEDNESDAY_NIGHT = "2026-11-25T23:00:00+01:00"


async def _get(client: Client, path: str, token: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(path, headers=bearer(token))
    return response.status, await response.json()


def _ids(people: list[dict[str, str]]) -> list[str]:
    return [p["id"] for p in people]


async def test_who_is_on_duty_and_on_call_and_why(client: Client,
                                                  tokens: dict[Role, str]) -> None:
    status, body = await _get(client, f"/api/v1/oncall?at={WEDNESDAY_MORNING}",
                              tokens[Role.hr])
    assert status == 200
    teams = {t["team"]: t for t in body["teams"]}
    lighting = teams["lighting"]
    # Both electricians work weekday mornings; the on-call week since 5 January is the
    # 47th (46 hand-offs, even), so the first member, Antonio, has it.
    assert _ids(lighting["on_duty"]) == ["antonio", "carmen"]
    assert lighting["on_duty_sources"] == ["working_hours:lighting"]
    assert _ids(lighting["on_call"]) == ["antonio"]
    assert lighting["on_call_sources"][0].startswith("rotation:lighting-on-call")
    # Police: daily 08:00 hand-offs since Monday 5 January; 324 days later, Pablo's turn.
    assert _ids(teams["police"]["on_duty"]) == ["pablo"]
    assert teams["police"]["on_duty"][0]["name"] == "Pablo Jiménez"


async def test_a_period_with_no_one_is_reported(client: Client,
                                                tokens: dict[Role, str]) -> None:
    _, body = await _get(client, f"/api/v1/oncall?team=rooms&at={WEDNESDAY_NIGHT}",
                         tokens[Role.staff])
    # Room bookings have no on-call rotation: at night no one at all, and it says so.
    [rooms] = body["teams"]
    assert rooms["on_duty"] == [] and rooms["on_call"] == []
    assert rooms["gap"] is True
    _, body = await _get(client, f"/api/v1/oncall?team=lighting&at={WEDNESDAY_NIGHT}",
                         tokens[Role.staff])
    [lighting] = body["teams"]
    assert lighting["on_duty"] == [] and _ids(lighting["on_call"]) == ["antonio"]
    assert lighting["gap"] is False


async def test_an_override_changes_who_is_on_and_says_so(client: Client,
                                                         tokens: dict[Role, str]) -> None:
    hr = bearer(tokens[Role.hr])
    created = await client.post("/api/v1/overrides", headers=hr, json={
        "team": "police", "kind": "replace", "person": "raquel", "replaces": "pablo",
        "start": "2026-11-25T07:00:00Z", "end": "2026-11-26T07:00:00Z",
        "reason": "sick leave"})
    override_id = (await created.json())["id"]
    _, body = await _get(client, f"/api/v1/oncall?team=police&at={WEDNESDAY_MORNING}",
                         tokens[Role.hr])
    [police] = body["teams"]
    assert _ids(police["on_duty"]) == ["raquel"]
    assert f"override:{override_id}" in police["on_duty_sources"]


async def test_shifts_of_a_team_cover_the_window(client: Client,
                                                 tokens: dict[Role, str]) -> None:
    path = ("/api/v1/teams/police/shifts?from=2026-11-25T07:00:00Z"
            "&to=2026-11-28T07:00:00Z")
    status, body = await _get(client, path, tokens[Role.moderator])
    assert status == 200
    shifts = body["shifts"]
    assert [_ids(s["people"]) for s in shifts] == [["pablo"], ["raquel"], ["pablo"]]
    assert shifts[0]["start"] == "2026-11-25T07:00:00+00:00"
    assert all(a["end"] == b["start"] for a, b in pairwise(shifts))
    too_long = await client.get("/api/v1/teams/police/shifts?from=2026-01-01T00:00:00Z"
                                "&to=2026-12-01T00:00:00Z", headers=bearer(tokens[Role.hr]))
    assert too_long.status == 422
    missing = await client.get("/api/v1/teams/police/shifts?to=2026-12-01T00:00:00Z",
                               headers=bearer(tokens[Role.hr]))
    assert missing.status == 422 and "from" in str(await missing.json())
    unknown = await client.get("/api/v1/teams/gardening/shifts?from=2026-11-25T07:00:00Z"
                               "&to=2026-11-26T07:00:00Z", headers=bearer(tokens[Role.hr]))
    assert unknown.status == 422


async def test_a_person_gets_their_calendar_behind_a_secret_link(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    _, antonio = await create_token(engine=engine, name="antonio", role=Role.staff,
                                    staff_id="antonio")
    _, jose = await create_token(engine=engine, name="jose", role=Role.staff, staff_id="jose")
    status, link = await _get(client, "/api/v1/calendar-links?person=antonio", antonio)
    assert status == 200
    path = urlsplit(link["url"]).path
    assert path.startswith("/ical/person/antonio/") and path.endswith(".ics")
    feed = await client.get(path)  # calendar apps send no token: the link is the secret
    assert feed.status == 200
    assert feed.headers["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(await feed.read())
    summaries = {str(e["summary"]) for e in calendar.walk("VEVENT")}
    assert any(s.startswith("On call: Alumbrado") for s in summaries), summaries
    assert any(s.startswith("On duty: Alumbrado") for s in summaries), summaries

    forged = path.replace(path.rsplit("/", 1)[1], "0" * 32 + ".ics")
    assert (await client.get(forged)).status == 404
    other = path.replace("/antonio/", "/carmen/")
    assert (await client.get(other)).status == 404
    assert (await client.get("/api/v1/calendar-links?person=antonio",
                             headers=bearer(jose))).status == 403
    status, _ = await _get(client, "/api/v1/calendar-links?person=antonio", tokens[Role.hr])
    assert status == 200


async def test_one_calendar_link_is_revoked_without_touching_the_others(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    """A lost phone: Antonio revokes his link; the old one stops working, a new one
    works, Carmen's link (and the secret key) are untouched; staff cannot revoke others'
    or a team's, HR can."""
    _, antonio = await create_token(engine=engine, name="antonio", role=Role.staff,
                                    staff_id="antonio")
    _, carmen = await create_token(engine=engine, name="carmen", role=Role.staff,
                                   staff_id="carmen")
    _, old = await _get(client, "/api/v1/calendar-links?person=antonio", antonio)
    _, hers = await _get(client, "/api/v1/calendar-links?person=carmen", carmen)
    revoked = await client.post("/api/v1/calendar-links/revoke", json={"person": "antonio"},
                                headers=bearer(antonio))
    assert revoked.status == 200
    new = (await revoked.json())["url"]
    assert new != old["url"]
    assert (await client.get(urlsplit(old["url"]).path)).status == 404
    assert (await client.get(urlsplit(new).path)).status == 200
    assert (await client.get(urlsplit(hers["url"]).path)).status == 200
    _, again = await _get(client, "/api/v1/calendar-links?person=antonio", antonio)
    assert again["url"] == new
    assert (await client.post("/api/v1/calendar-links/revoke", json={"person": "antonio"},
                              headers=bearer(carmen))).status == 403
    assert (await client.post("/api/v1/calendar-links/revoke", json={"team": "lighting"},
                              headers=bearer(carmen))).status == 403
    assert (await client.post("/api/v1/calendar-links/revoke", json={"team": "lighting"},
                              headers=bearer(tokens[Role.hr]))).status == 200
    bad = await client.post("/api/v1/calendar-links/revoke", json={"person": "nadie"},
                            headers=bearer(tokens[Role.hr]))
    assert bad.status == 422


async def test_a_team_calendar_shows_its_gaps(client: Client, tokens: dict[Role, str]) -> None:
    _, link = await _get(client, "/api/v1/calendar-links?team=cleaning", tokens[Role.hr])
    feed = await client.get(urlsplit(link["url"]).path)
    calendar = icalendar.Calendar.from_ical(await feed.read())
    summaries = [str(e["summary"]) for e in calendar.walk("VEVENT")]
    assert "On duty: NO ONE" in summaries
    assert "On duty: José Navarro" in summaries
