"""`/hooks/{id}` through the real app on both databases: pushed feeds (a signed webhook,
WhatsApp Cloud API, a Telegram bot's webhook) are stored once when their secret proves
them, refused otherwise, and counted in the connector's status."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.connectors.signed_webhook import sign
from guardian.storage.connectors import connector_states
from guardian.storage.messages import messages_table
from tests.conftest import POLICIES, Client, message, with_settings
from tests.fakes.telegram import PRIVATE_CHAT, USER

CONNECTORS = """\
connectors:
  - id: town-forms
    kind: webhook
    secret: "{env:FORMS_SECRET}"
  - id: whatsapp
    kind: whatsapp
    secret: "{env:WA_APP_SECRET}"
    verify_token: "{env:WA_VERIFY}"
  - id: telegram-bot
    kind: telegram
    token: "{env:TG_TOKEN}"
    secret: "{env:TG_HOOK_SECRET}"
  - id: mastodon-town
    kind: mastodon
    url: https://ejemplo.social
    token: "{env:MASTODON_TOKEN}"
"""
SECRETS = {"FORMS_SECRET": "forms-secret-0123456789", "WA_APP_SECRET": "wa-app-secret-abc",
           "WA_VERIFY": "wa-verify-xyz", "TG_TOKEN": "123:abc", "TG_HOOK_SECRET": "tg-secret-1"}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "connectors.yaml").write_text(CONNECTORS, encoding="utf-8")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return with_settings(settings, policies_dir=policies)


def _signed(body: bytes, *, secret: str = SECRETS["FORMS_SECRET"],
            at: int | None = None) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    return {"Content-Type": "application/json", "X-Guardian-Timestamp": str(at),
            "X-Guardian-Signature": sign(secret, at, body)}


async def _stored(engine: AsyncEngine, source: str) -> list[dict[str, Any]]:
    m = messages_table.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(m.external_id, m.text, m.author_handle)
                                  .where(m.source == source).order_by(m.id))
    return [dict(r._mapping) for r in rows]


async def _state(engine: AsyncEngine, name: str) -> Any:
    return {s.name: s for s in await connector_states(engine=engine)}.get(name)


async def test_a_signed_webhook_is_stored_once_and_a_forged_one_is_refused(
        client: Client, engine: AsyncEngine) -> None:
    body = json.dumps([message("f-1"), message("f-2", text="Hay basura en la plaza")]).encode()
    answer = await client.post("/hooks/town-forms", data=body, headers=_signed(body))
    assert answer.status == 202, await answer.text()
    assert await answer.json() == {"stored": 2, "received": 2}
    # The sender retries (its answer was lost): nothing new.
    again = await client.post("/hooks/town-forms", data=body, headers=_signed(body))
    assert (await again.json())["stored"] == 0
    stored = await _stored(engine, "town-forms")  # the source is the connector
    assert [s["external_id"] for s in stored] == ["f-1", "f-2"]

    forged = json.dumps(message("f-3")).encode()
    cases = {
        "tampered": (forged, _signed(body)),
        "wrong secret": (forged, _signed(forged, secret="not-the-secret")),
        "replayed an hour later": (forged, _signed(forged, at=int(time.time()) - 3600)),
        "unsigned": (forged, {"Content-Type": "application/json"}),
    }
    for what, (data, headers) in cases.items():
        refused = await client.post("/hooks/town-forms", data=data, headers=headers)
        assert refused.status == 401, what
        error = (await refused.json())["error"]
        assert error["message"] and SECRETS["FORMS_SECRET"] not in json.dumps(error)
    assert len(await _stored(engine, "town-forms")) == 2
    state = await _state(engine, "town-forms")
    assert state is not None and (state.kind, state.events) == ("webhook", 2)


async def test_a_signed_but_invalid_body_names_the_field_and_stores_nothing(
        client: Client, engine: AsyncEngine) -> None:
    body = json.dumps([message("ok"), message("bad", created_at="yesterday")]).encode()
    answer = await client.post("/hooks/town-forms", data=body, headers=_signed(body))
    assert answer.status == 422
    assert (await answer.json())["error"]["errors"][0]["field"] == "[1].created_at"
    assert await _stored(engine, "town-forms") == []


async def test_only_pushed_connectors_of_the_policy_have_a_hook(client: Client) -> None:
    body = b"{}"
    for name in ("nobody", "mastodon-town"):  # unknown; polled, not pushed
        answer = await client.post(f"/hooks/{name}", data=body, headers=_signed(body))
        assert answer.status == 404


async def test_a_hook_whose_secret_is_not_set_is_unavailable(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORMS_SECRET")
    body = json.dumps(message("f-1")).encode()
    answer = await client.post("/hooks/town-forms", data=body, headers=_signed(body))
    assert answer.status == 503


def _whatsapp(text: str, wamid: str) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1029384756", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "34600000000", "phone_number_id": "1122"},
            "contacts": [{"profile": {"name": "Lucía"}, "wa_id": "34611222333"}],
            "messages": [{"from": "34611222333", "id": wamid, "timestamp": "1780000000",
                          "type": "text", "text": {"body": text}}]}}]}]}


async def test_whatsapp_handshake_and_signed_deliveries(client: Client,
                                                        engine: AsyncEngine) -> None:
    ok = await client.get("/hooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": SECRETS["WA_VERIFY"],
        "hub.challenge": "1158201444"})
    assert ok.status == 200 and await ok.text() == "1158201444"
    wrong = await client.get("/hooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status == 403
    body = json.dumps(_whatsapp("La farola de mi calle no funciona", "wamid.A1")).encode()
    signature = "sha256=" + hmac.new(SECRETS["WA_APP_SECRET"].encode(), body,
                                     hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    for _ in range(2):  # WhatsApp delivers again when unsure: stored once
        answer = await client.post("/hooks/whatsapp", data=body, headers=headers)
        assert answer.status == 200
    bad = await client.post("/hooks/whatsapp", data=body.replace(b"farola", b"FAROLA"),
                            headers=headers)
    assert bad.status == 401
    stored = await _stored(engine, "whatsapp")
    assert [(s["external_id"], s["text"], s["author_handle"]) for s in stored] == [
        ("wamid.A1", "La farola de mi calle no funciona", "+34611222333")]


async def test_a_telegram_webhook_needs_its_secret_token(client: Client,
                                                         engine: AsyncEngine) -> None:
    update = {"update_id": 9001, "message": {"message_id": 77, "from": USER,
                                             "chat": PRIVATE_CHAT, "date": 1780000000,
                                             "text": "Hay un bache en la calle Mayor"}}
    body = json.dumps(update).encode()
    refused = await client.post("/hooks/telegram-bot", data=body, headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "guess"})
    assert refused.status == 401
    answer = await client.post("/hooks/telegram-bot", data=body, headers={
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": SECRETS["TG_HOOK_SECRET"]})
    assert answer.status == 200 and (await answer.json())["stored"] == 1
    stored = await _stored(engine, "telegram")
    assert [s["text"] for s in stored] == ["Hay un bache en la calle Mayor"]


async def test_health_shows_each_connector_and_warns_of_a_missing_secret(
        client: Client, engine: AsyncEngine) -> None:
    body = json.dumps(message("f-1")).encode()
    assert (await client.post("/hooks/town-forms", data=body,
                              headers=_signed(body))).status == 202
    health = await client.get("/health")
    assert health.status == 200  # a feed's trouble is a warning, not an outage
    check = (await health.json())["checks"]["connectors"]
    report = {c["id"]: c for c in check["info"]["connectors"]}
    assert report["town-forms"]["state"] == "ok" and report["town-forms"]["events"] == 1
    assert report["town-forms"]["mode"] == "pushed"
    assert report["whatsapp"]["state"] == "new"
    # MASTODON_TOKEN is not set: named (the variable, never a value) in the warning.
    assert report["mastodon-town"]["state"] == "missing secrets"
    assert report["mastodon-town"]["missing"] == ["MASTODON_TOKEN"]
    assert "mastodon-town missing secrets" in check["detail"]
    text = await health.text()
    assert not any(value in text for value in SECRETS.values())
