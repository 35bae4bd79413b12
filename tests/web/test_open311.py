"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2), on both databases: what a
FixMyStreet-compatible app sees. Section names are the specification's."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy.model import Policy
from guardian.schemas import MessageIn
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.types import Role
from tests.conftest import Client, bearer, message

V2 = "/open311/v2"
LAMP = "La farola de la esquina de la plaza no enciende"


def _form(key: str | None, **fields: str) -> dict[str, str]:
    body = {"service_code": "street_lighting", "description": LAMP, **fields}
    if key is not None:
        body["api_key"] = key
    return body


async def _report(client: Client, key: str, **fields: str) -> int:
    answer = await client.post(f"{V2}/requests.json", data=_form(key, **fields))
    body = await answer.json()
    assert answer.status == 200, body
    return int(body[0]["service_request_id"])


async def _decide(engine: AsyncEngine, message_id: int, *, category: str = "street_lighting",
                  team: str = "lighting", level: str = "none",
                  kinds: tuple[str, ...] = ("deliver_now",)) -> None:
    """What the pipeline writes once it has routed the report (as tests/web/
    test_requests.py does)."""
    decision = {"version": 1, "team": team, "category": category, "level": level,
                "outcomes": [{"kind": k, "at": utcnow().isoformat()} for k in kinds]}
    async with engine.begin() as conn:
        await conn.execute(update(messages_table).where(messages_table.c.id == message_id)
                           .values(decision=decision, stage="notified",
                                   harassment_level=level))


async def _row(engine: AsyncEngine, message_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(messages_table).where(
            messages_table.c.id == message_id))).mappings().one()
    return dict(row)


async def _geo_error(answer: Any, status: int) -> str:
    """The specification's error shape ("Errors"): `[{"code": N, "description": "..."}]`."""
    assert answer.status == status, await answer.text()
    body = await answer.json()
    assert isinstance(body, list) and body[0]["code"] == status
    assert isinstance(body[0]["description"], str) and body[0]["description"]
    return str(body[0]["description"])


async def _xml(answer: Any, status: int = 200) -> ET.Element:
    assert answer.status == status, await answer.text()
    assert answer.content_type == "application/xml"
    return ET.fromstring(await answer.text())


# --- "GET Service List" and "GET Service Definition" --------------------------------------

async def test_discovery_lists_each_category_as_a_service(client: Client, town: Policy) -> None:
    answer = await client.get(f"{V2}/services.json")
    assert answer.status == 200
    services = {s["service_code"]: s for s in await answer.json()}
    assert set(services) == {c.id for c in town.categories}
    lamp = services["street_lighting"]
    assert lamp["service_name"] == "Street lighting"
    assert lamp["group"] == "Alumbrado público (street lighting)"
    assert lamp["metadata"] is False and lamp["type"] == "realtime"
    assert "farola" in lamp["keywords"] and "streetlight" in lamp["keywords"]
    assert lamp["description"]

    root = await _xml(await client.get(f"{V2}/services.xml"))
    assert root.tag == "services"
    codes = set()
    for service in root.findall("service"):
        for field in ("service_code", "service_name", "description", "metadata", "type",
                      "keywords", "group"):
            assert service.find(field) is not None, field
        assert service.findtext("metadata") == "false"
        codes.add(service.findtext("service_code"))
    assert codes == set(services)


async def test_a_service_definition_has_no_attributes_and_unknown_codes_are_404(
        client: Client) -> None:
    answer = await client.get(f"{V2}/services/cleaning.json")
    assert answer.status == 200
    assert await answer.json() == {"service_code": "cleaning", "attributes": []}
    root = await _xml(await client.get(f"{V2}/services/cleaning.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "cleaning"

    await _geo_error(await client.get(f"{V2}/services/potholes.json"), 404)
    errors = await _xml(await client.get(f"{V2}/services/potholes.xml"), 404)
    assert errors.tag == "errors"
    assert errors.findtext("error/code") == "404" and errors.findtext("error/description")


# --- "POST Service Request" ---------------------------------------------------------------

async def test_a_report_with_an_ingest_key_is_stored_without_personal_data(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    answer = await client.post(f"{V2}/requests.json", data=_form(
        tokens[Role.ingest], lat="40.4168", long="-3.7038",
        address_string="Plaza Mayor 1", email="vecina@example.org", phone="600111222",
        first_name="Lola", last_name="Prado", account_id="fms-4711", device_id="tablet-9",
        media_url="https://example.org/foto.jpg"))
    assert answer.status == 200
    [created] = await answer.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert created["account_id"] is None and created["service_notice"]

    row = await _row(engine, int(created["service_request_id"]))
    assert row["source"] == "open311" and row["external_id"].startswith("o311-")
    assert row["text"] == f"{LAMP}\nPlaza Mayor 1"
    assert row["author_handle"] == "fms-4711" and row["author_name"] is None
    assert row["lang"] is None and row["stage"] == "received"
    assert "mlat=40.4168" in row["url"]
    kept = repr(row)
    for personal in ("vecina@example.org", "600111222", "Lola", "Prado", "tablet-9",
                     "foto.jpg"):
        assert personal not in kept

    # XML, and without account_id nor email: an anonymous author.
    root = await _xml(await client.post(f"{V2}/requests.xml", data=_form(tokens[Role.admin])))
    assert root.tag == "service_requests"
    anonymous = int(root.findtext("request/service_request_id") or "0")
    assert (await _row(engine, anonymous))["author_handle"] == "open311:anonymous"


async def test_a_missing_or_wrong_api_key_is_403(client: Client, tokens: dict[Role, str]
                                                 ) -> None:
    for key in (None, "", "gdn_not-a-real-token", tokens[Role.staff], tokens[Role.hr]):
        answer = await client.post(f"{V2}/requests.json", data=_form(key))
        assert "api_key" in await _geo_error(answer, 403)
    # The bearer header is not the spec's way, and does not stand in for the key.
    answer = await client.post(f"{V2}/requests.json", data=_form(None),
                               headers=bearer(tokens[Role.ingest]))
    await _geo_error(answer, 403)
    errors = await _xml(await client.post(f"{V2}/requests.xml", data=_form("nope")), 403)
    assert errors.findtext("error/code") == "403"


async def test_unknown_service_and_missing_fields_are_400(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    key = tokens[Role.ingest]
    cases = [_form(key, service_code="potholes"), _form(key, description="  "),
             {"api_key": key, "description": LAMP},
             _form(key, lat="40.4"), _form(key, lat="95", long="3")]
    for data in cases:
        await _geo_error(await client.post(f"{V2}/requests.json", data=data), 400)
    await _geo_error(await client.post(f"{V2}/requests.json", json=_form(key)), 400)
    async with engine.connect() as conn:
        assert (await conn.execute(select(messages_table.c.id))).all() == []


# --- "GET Service Request(s)" -------------------------------------------------------------

async def test_a_request_is_open_then_closed_and_the_reason_never_shows(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    key, hr = tokens[Role.ingest], bearer(tokens[Role.hr])
    lamp = await _report(client, key, address_string="Calle Real 3")
    # Still in the pipeline: followed at once under the service the citizen chose.
    [waiting] = await (await client.get(f"{V2}/requests/{lamp}.json")).json()
    assert (waiting["status"], waiting["status_notes"]) == ("open", "Recibido.")
    assert waiting["service_code"] == "street_lighting" and "description" not in waiting
    assert waiting["agency_responsible"] == "Alumbrado público (street lighting)"
    await _decide(engine, lamp)

    answer = await client.get(f"{V2}/requests/{lamp}.json")
    assert answer.status == 200
    [item] = await answer.json()
    assert item["service_request_id"] == str(lamp)
    assert item["status"] == "open" and item["status_notes"] == "Recibido."
    assert item["service_code"] == "street_lighting"
    assert item["service_name"] == "Street lighting"
    assert item["agency_responsible"] == "Alumbrado público (street lighting)"
    assert item["description"] == f"{LAMP}\nCalle Real 3"
    requested = dt.datetime.fromisoformat(item["requested_datetime"])
    assert requested.tzinfo is not None

    moved = await client.post(f"/api/v1/messages/{lamp}/status", json={"status": "resolved"},
                              headers=hr)
    assert moved.status == 200, await moved.text()
    changed = dt.datetime.fromisoformat((await moved.json())["changed_at"])
    [item] = await (await client.get(f"{V2}/requests/{lamp}.json")).json()
    assert item["status"] == "closed" and item["status_notes"] == "Resuelto."
    assert dt.datetime.fromisoformat(item["updated_datetime"]) == changed.replace(microsecond=0)

    # Closed with a reason: the citizen reads "closed", never why nor who.
    other = await _report(client, key)
    await _decide(engine, other)
    reason = "Duplicado del aviso anterior"
    moved = await client.post(f"/api/v1/messages/{other}/status",
                              json={"status": "closed", "reason": reason}, headers=hr)
    assert moved.status == 200, await moved.text()
    for fmt in ("json", "xml"):
        for path in (f"requests/{other}.{fmt}", f"requests.{fmt}"):
            text = await (await client.get(f"{V2}/{path}")).text()
            assert reason not in text and "test-hr" not in text and "hr:" not in text
    root = await _xml(await client.get(f"{V2}/requests/{other}.xml"))
    assert root.findtext("request/status") == "closed"
    assert root.findtext("request/status_notes") == "Cerrado."


async def test_only_harmless_texts_are_republished(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    rude = await _report(client, tokens[Role.ingest], description="Vaya servicio más lento")
    await _decide(engine, rude, level="rude")
    [item] = await (await client.get(f"{V2}/requests/{rude}.json")).json()
    assert "description" not in item and item["status"] == "open"
    root = await _xml(await client.get(f"{V2}/requests/{rude}.xml"))
    assert not root.findtext("request/description")
    assert "lento" not in await (await client.get(f"{V2}/requests.xml")).text()


async def test_the_list_filters_by_status_service_ids_and_dates(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    key, hr = tokens[Role.ingest], bearer(tokens[Role.hr])
    lamp = await _report(client, key)
    await _decide(engine, lamp)
    bin_ = await _report(client, key, service_code="cleaning",
                         description="El contenedor de la calle Sol está lleno")
    await _decide(engine, bin_, category="cleaning", team="cleaning")
    fixed = await _report(client, key)
    await _decide(engine, fixed)
    assert (await client.post(f"/api/v1/messages/{fixed}/status", json={"status": "resolved"},
                              headers=hr)).status == 200
    old = await _report(client, key)
    await _decide(engine, old)
    long_ago = utcnow() - dt.timedelta(days=120)
    async with engine.begin() as conn:
        await conn.execute(update(messages_table).where(messages_table.c.id == old)
                           .values(created_at=long_ago))
    held = await _report(client, key)  # held for review: no request
    await _decide(engine, held, kinds=("hold_for_review",))

    async def ids(query: str = "") -> list[int]:
        answer = await client.get(f"{V2}/requests.json{query}")
        assert answer.status == 200, await answer.text()
        return [int(item["service_request_id"]) for item in await answer.json()]

    assert await ids() == [fixed, bin_, lamp]  # newest first, the last 90 days
    assert await ids("?status=open") == [bin_, lamp]
    assert await ids("?status=closed") == [fixed]
    assert await ids("?service_code=cleaning") == [bin_]
    assert await ids("?service_code=cleaning,street_lighting&status=open") == [bin_, lamp]
    assert await ids(f"?service_request_id={old},{lamp},{held}") == [old, lamp]
    assert await ids(f"?service_request_ids={bin_}") == [bin_]
    start = (long_ago - dt.timedelta(days=1)).isoformat()
    end = (long_ago + dt.timedelta(days=1)).isoformat()
    assert await ids(f"?start_date={start}&end_date={end}".replace("+", "%2B")) == [old]
    assert await ids("?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z") == []

    for bad in ("?status=pending", "?start_date=yesterday", "?service_request_id=1,x",
                "?end_date=1066-10-14T00:00:00Z"):
        await _geo_error(await client.get(f"{V2}/requests.json{bad}"), 400)
    root = await _xml(await client.get(f"{V2}/requests.xml?status=closed"))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [str(fixed)]


async def test_xml_escapes_the_citizens_text(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    text = "Farola < 2 m del banco & sin luz <b>hoy</b>\x01"
    sign = await _report(client, tokens[Role.ingest], description=text)
    await _decide(engine, sign)
    raw = await (await client.get(f"{V2}/requests/{sign}.xml")).text()
    assert "&lt; 2 m" in raw and "&amp; sin luz" in raw and "<b>" not in raw
    root = ET.fromstring(raw)
    assert root.findtext("request/description") == text.replace("\x01", "\ufffd")


async def test_messages_from_elsewhere_are_not_open311_requests(
        client: Client, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[MessageIn.model_validate(
            message("77", source="mastodon"))])
    await _decide(engine, stored.id)
    await _geo_error(await client.get(f"{V2}/requests/{stored.id}.json"), 404)
    await _xml(await client.get(f"{V2}/requests/{stored.id}.xml"), 404)
    await _geo_error(await client.get(f"{V2}/requests/abc.json"), 404)
    assert await (await client.get(f"{V2}/requests.json")).json() == []


# --- "GET request_id from a token" --------------------------------------------------------

async def test_no_token_is_ever_issued(client: Client) -> None:
    await _geo_error(await client.get(f"{V2}/tokens/abc123.json"), 404)
    errors = await _xml(await client.get(f"{V2}/tokens/abc123.xml"), 404)
    assert errors.findtext("error/code") == "404"
