"""The admin's desk over plain HTTP (every action a form POST): only admins open it;
tokens shown once, working against the API and refused once revoked; invitations and
sign-out everywhere; channel health and a channel test against a real loopback receiver;
parked messages re-driven through the running pipeline; the policy's errors with their file
and line; every action audited under the admin's name, and no secret ever in a page."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.schemas import MessageIn
from guardian.storage.accounts import open_session, sessions_table
from guardian.storage.audit import audit_table
from guardian.storage.db import utcnow
from guardian.storage.messages import messages_table, store_messages
from guardian.storage.notifications import attempts_table, notifications_table
from guardian.storage.tokens import create_token, tokens_table
from guardian.types import Role
from guardian.web.keys import policy_key, settings_key
from tests.conftest import Client, bearer, message, with_settings
from tests.receivers import JsonReceiver
from tests.ui.conftest import accept, sign_in_as

SECRET = "adm1n-S3cret-value"  # a channel's password, in the secrets file only
SMTP_SECRET = "smtp-S3cret-value"  # the example town's mail password, likewise
PAGES = ("/admin", "/admin/tokens", "/admin/people", "/admin/channels", "/admin/messages",
         "/admin/connectors", "/admin/policy")
# Invented and mild; never shown on the desk (parked messages are listed without text).
PARKED_TEXT = "La fuente de la plaza pierde agua desde el lunes"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The pages' settings with a secrets file holding channel passwords."""
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"HOOK_PASSWORD={SECRET}\nSMTP_PASSWORD={SMTP_SECRET}\n",
                       encoding="utf-8")
    return with_settings(settings, secrets_file=secrets)


def _policies(client: Client) -> Path:
    return client.app[policy_key].directory


def _set_channels(client: Client, staff_id: str, channels: list[str]) -> None:
    """Give a person of the policy these channels, and reload it."""
    staff = _policies(client) / "staff.yaml"
    text = staff.read_text(encoding="utf-8")
    start = text.index(f"  - id: {staff_id}\n")
    end = text.find("  - id: ", start + 1)
    end = len(text) if end < 0 else end
    listed = "".join(f'\n      - "{url}"' for url in channels)
    block, count = re.subn(r"    channels:\n(?:      - .*\n)+", f"    channels:{listed}\n",
                           text[start:end])
    assert count == 1
    staff.write_text(text[:start] + block + text[end:], encoding="utf-8")
    assert client.app[policy_key].reload()


async def _audit(engine: AsyncEngine, action: str) -> list[tuple[str, str, dict[str, object]]]:
    c = audit_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(c.actor, c.subject, c.details)
                                   .where(c.action == action).order_by(c.id))).all()
    return [(actor, subject, details) for actor, subject, details in rows]


async def _post(client: Client, path: str, token: str, **fields: str) -> tuple[int, str, str]:
    response = await client.post(path, data={"csrf_token": token, **fields},
                                 allow_redirects=False)
    return response.status, response.headers.get("Location", ""), await response.text()


async def test_only_admins_open_the_desk(client: Client, engine: AsyncEngine) -> None:
    signed_out = await client.get("/admin/tokens", allow_redirects=False)
    assert signed_out.headers["Location"] == "/signin?next=%2Fadmin%2Ftokens"
    # A machine's admin token opens the API, never a page.
    _, api = await create_token(engine=engine, name="script", role=Role.admin)
    by_token = await client.get("/admin", headers=bearer(api), allow_redirects=False)
    assert by_token.status == 303
    # María moderates; she is not among the policy's delivery.admins.
    token = await sign_in_as(client, engine, "maria")
    for path in PAGES:
        refused = await client.get(path)
        assert refused.status == 403, path
        assert "Esta página no es para ti" in await refused.text()
        assert "delivery.admins" in await refused.text()
    status, _, _ = await _post(client, "/admin/tokens", token, name="x", role="ingest")
    assert status == 403
    status, _, _ = await _post(client, "/admin/messages/retry", token, all="1")
    assert status == 403
    async with engine.connect() as conn:
        names = set((await conn.execute(select(tokens_table.c.name))).scalars())
    assert names == {"script"}
    # The nav shows the desk to admins only.
    assert 'href="/admin"' not in await (await client.get("/moderation")).text()


async def test_the_overview_and_the_home_page_lead_to_every_section(
        client: Client, engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "lucia")
    home = await (await client.get("/")).text()
    assert 'href="/admin"' in home and "Mesa de administración" in home
    page = await client.get("/admin")
    text = await page.text()
    assert page.status == 200 and "<h1>Mesa de administración</h1>" in text
    for path in PAGES:
        if path != "/admin/connectors":  # no connectors in the example town
            assert f'href="{path}' in text, path
    assert "En vigor" in text and "Mensajes en espera: 0." in text
    assert 'href="/admin/connectors"' not in text
    for path in PAGES:
        shown = await client.get(path)
        assert shown.status == 200, path
        assert 'aria-current="page"' in await shown.text()


async def test_a_new_token_is_shown_once_works_and_stops_when_revoked(
        client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "lucia")
    status, _, page = await _post(client, "/admin/tokens", token, name="mastodon-feed",
                                  role="ingest", staff_id="")
    assert status == 200 and "Token mastodon-feed creado" in page
    found = re.search(r'<code id="new-token" class="secret">(gdn_[A-Za-z0-9_-]+)</code>', page)
    assert found is not None, page
    secret = found.group(1)
    # Shown once: the list afterwards holds its first characters only.
    listed = await (await client.get("/admin/tokens")).text()
    assert secret not in listed and secret[:8] + "…" in listed
    assert "mastodon-feed" in listed
    # It works against the API at once, with its role.
    stored = await client.post("/api/v1/messages", json=message("1"), headers=bearer(secret))
    assert stored.status == 202
    async with engine.connect() as conn:
        row = (await conn.execute(select(tokens_table).where(
            tokens_table.c.name == "mastodon-feed"))).mappings().one()
    assert (row["role"], row["staff_id"], row["revoked_at"]) == ("ingest", None, None)
    assert secret not in str(dict(row))  # only its hash is kept
    token_id = row["id"]
    status, location, _ = await _post(client, f"/admin/tokens/{token_id}/revoke", token)
    assert (status, location) == (303, f"/admin/tokens?revoked={token_id}")
    notice = await (await client.get(location)).text()
    assert f"El token {token_id} está revocado" in notice
    await asyncio.sleep(0.1)  # the settings' token cache: 0.05 s
    refused = await client.post("/api/v1/messages", json=message("2"), headers=bearer(secret))
    assert refused.status == 401
    # Revoking twice says so.
    again, _, text = await _post(client, f"/admin/tokens/{token_id}/revoke", token)
    assert again == 404 and "revoked already" in text
    assert await _audit(engine, "token.create") == [
        ("admin:lucia", f"token:{token_id}",
         {"name": "mastodon-feed", "role": "ingest", "staff": None})]
    assert await _audit(engine, "token.revoke") == [
        ("admin:lucia", f"token:{token_id}", {"name": "mastodon-feed", "role": "ingest"})]
    # Revoked tokens are listed on request, with when.
    everything = await (await client.get("/admin/tokens?all=1")).text()
    assert "Revocado el" in everything


async def test_a_persons_token_is_bound_as_the_cli_binds_it(client: Client,
                                                            engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "lucia")
    status, _, page = await _post(client, "/admin/tokens", token, name="maria-script",
                                  role="moderator", staff_id="maria")
    assert status == 200
    secret = re.search(r'id="new-token" class="secret">([^<]+)<', page)
    assert secret is not None
    me = await client.get("/api/v1/moderators/me/exposure", headers=bearer(secret.group(1)))
    assert me.status == 200
    refusals = {
        "Ponle un nombre al token.": {"name": " ", "role": "ingest"},
        "Elige una de las funciones.": {"name": "x", "role": "root"},
        "pertenece a una persona": {"name": "x", "role": "staff"},
        "es de una máquina": {"name": "x", "role": "ingest", "staff_id": "antonio"},
        "no está en la política": {"name": "x", "role": "hr", "staff_id": "nadie"},
        "moderation.moderators": {"name": "x", "role": "moderator", "staff_id": "antonio"},
        "Ya hay un token activo llamado maria-script": {"name": "maria-script",
                                                        "role": "admin"},
        "demasiado largo": {"name": "x" * 129, "role": "ingest"},
    }
    for sentence, fields in refusals.items():
        status, _, page = await _post(client, "/admin/tokens", token, **fields)
        assert status == 422, fields
        assert sentence in page, (fields, page)
        assert 'role="alert" id="token-error"' in page
    async with engine.connect() as conn:
        names = list((await conn.execute(select(tokens_table.c.name))).scalars())
    assert names == ["maria-script"]


async def test_a_form_without_its_token_changes_nothing(client: Client,
                                                        engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "lucia")
    token_id, _ = await create_token(engine=engine, name="feed", role=Role.ingest)
    for path, fields in (("/admin/tokens", {"name": "x", "role": "ingest"}),
                         (f"/admin/tokens/{token_id}/revoke", {}),
                         ("/admin/people/invite", {"staff_id": "antonio"}),
                         ("/admin/messages/retry", {"all": "1"}),
                         ("/admin/policy/reload", {})):
        for sent in ({}, {"csrf_token": "forged"}):
            refused = await client.post(path, data={**fields, **sent}, allow_redirects=False)
            assert refused.status == 403, path
            assert "Este formulario ha caducado" in await refused.text()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tokens_table.c.name, tokens_table.c.revoked_at))
                ).all()
        actions = set((await conn.execute(select(audit_table.c.action))).scalars())
    assert [(name, revoked) for name, revoked in rows] == [("feed", None)]
    assert "account.invite" not in actions and "policy.reload" not in actions


async def test_an_invitation_from_the_page_and_signing_someone_out(
        client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "lucia")
    # Antonio has a phone signed in (to be lost).
    await open_session(engine=engine, staff_id="antonio", address="10.0.0.9", now=utcnow())
    people = await (await client.get("/admin/people")).text()
    assert "Antonio Molina" in people and "Sesiones: 1" in people
    status, _, page = await _post(client, "/admin/people/signout", token, staff_id="antonio")
    assert status == 303
    async with engine.connect() as conn:
        live = (await conn.execute(select(sessions_table.c.staff_id).where(
            sessions_table.c.revoked_at.is_(None)))).scalars().all()
    assert live == ["lucia"]
    status, _, page = await _post(client, "/admin/people/invite", token, staff_id="antonio",
                                  days="2")
    assert status == 200 and "Invitación para Antonio Molina" in page
    link = re.search(r'<code id="invitation-link" class="secret">([^<]+)</code>', page)
    assert link is not None
    path = "/invitation/" + link.group(1).rsplit("/invitation/", 1)[1]
    assert link.group(1).endswith(path)
    listed = await (await client.get("/admin/people")).text()
    assert "abierta hasta el" in listed and path not in listed  # shown once
    assert await _audit(engine, "account.invite") == [
        ("admin:lucia", "person:antonio", {"days": 2})]
    assert await _audit(engine, "session.signout_all") == [
        ("admin:lucia", "person:antonio", {"sessions": 1})]
    bad, _, text = await _post(client, "/admin/people/invite", token, staff_id="nadie")
    assert bad == 404 and "nadie" in text
    bad, _, text = await _post(client, "/admin/people/invite", token, staff_id="antonio",
                               days="99")
    assert bad == 422 and "`days`" in text
    # The link works: Antonio sets his password (and this client is now his).
    await accept(client, path)
    assert "Hola, Antonio Molina" in await (await client.get("/")).text()


async def test_a_channel_test_reaches_a_real_receiver_with_secrets_masked(
        client: Client, engine: AsyncEngine, receiver: JsonReceiver) -> None:
    _set_channels(client, "antonio", [
        receiver.url("first"), receiver.url("second", userinfo="guardian:{env:HOOK_PASSWORD}@"),
        "mailtos://antonio:{env:NOT_SET_HERE}@smtp.ejemplo.es/?to=antonio@ejemplo.es"])
    token = await sign_in_as(client, engine, "lucia")
    status, _, page = await _post(client, "/admin/channels/test", token, staff_id="antonio")
    assert status == 200 and "Prueba de los canales de Antonio Molina" in page
    assert [p.path for p in receiver.posts] == ["/first", "/second"]
    assert receiver.posts[1].authorization is not None  # the password did go, to apprise
    assert "Prueba de Guardian" in str(receiver.posts[0].json)
    results = page[page.index('id="test-results"'):page.index("</table>",
                                                              page.index('id="test-results"'))]
    assert results.count("Ha funcionado") == 2 and results.count("Ha fallado") == 1
    assert f"json://127.0.0.1:{receiver.port}/first" in results
    assert "NOT_SET_HERE" in results  # the missing secret, by name
    assert SECRET not in page
    assert await _audit(engine, "channels.test") == [
        ("admin:lucia", "person:antonio", {"ok": 2, "failed": 1})]
    health = await (await client.get("/admin/channels")).text()
    assert "json://guardian:***@127.0.0.1" in health and SECRET not in health
    assert "Secreto sin definir: NOT_SET_HERE" in health
    no_one, _, text = await _post(client, "/admin/channels/test", token, staff_id="nadie")
    assert no_one == 404 and "nadie" in text


async def test_the_last_delivery_and_failure_per_channel(client: Client,
                                                         engine: AsyncEngine) -> None:
    """From the delivery log: channel 1 worked last, channel 2 failed last."""
    at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)  # 10:30 in Madrid
    async with engine.begin() as conn:
        notification = (await conn.execute(insert(notifications_table).values(
            recipient="antonio", kind="deliver", body="Farola apagada", payload={},
            due_at=at, idempotency_key="k1", status="sent", created_at=at,
            available_at=at, channel_index=1).returning(notifications_table.c.id))
                        ).scalar_one()
        await conn.execute(insert(attempts_table), [
            {"notification_id": notification, "at": at, "channel_index": 0, "ok": False,
             "channel_url_masked": "ntfy://ntfy.ejemplo.es/guardian-antonio",
             "error": "connection refused", "duration_ms": 3.0},
            {"notification_id": notification, "at": at + dt.timedelta(minutes=1),
             "channel_index": 0, "ok": True,
             "channel_url_masked": "ntfy://ntfy.ejemplo.es/guardian-antonio",
             "error": None, "duration_ms": 3.0},
            {"notification_id": notification, "at": at + dt.timedelta(minutes=2),
             "channel_index": 1, "ok": False,
             "channel_url_masked": "mailtos://antonio:****@smtp.ejemplo.es/",
             "error": "SMTP server unreachable", "duration_ms": 3.0}])
    await sign_in_as(client, engine, "lucia")
    page = await (await client.get("/admin/channels")).text()
    antonio = page[page.index('id="channels-antonio"'):page.index('id="channels-carmen"')]
    rows = antonio.split("<tr>")[2:]
    assert "2026-12-01 10:31" in rows[0] and "Funciona" in rows[0]
    assert "2026-12-01 10:30" in rows[0]  # its last failure, before
    assert "Falla" in rows[1] and "SMTP server unreachable" in rows[1]
    assert "2026-12-01 10:32" in rows[1]
    overview = await (await client.get("/admin")).text()
    assert "Canales cuyo último intento falló: 1." in overview


async def test_a_parked_message_is_redriven_through_the_running_pipeline(
        live_client: Client, engine: AsyncEngine) -> None:
    client = live_client
    async with engine.begin() as conn:  # parked in the transaction that stores it
        stored = await store_messages(conn=conn, messages=[
            MessageIn.model_validate(message("p1", text=PARKED_TEXT)),
            MessageIn.model_validate(message("p2", text=PARKED_TEXT))])
        await conn.execute(messages_table.update().values(
            failed_at=utcnow(), attempts=5, last_error="scorer timed out"))
    first, second = (s.id for s in stored)
    token = await sign_in_as(client, engine, "lucia")
    page = await (await client.get("/admin/messages")).text()
    assert f'id="parked-{first}"' in page and f'id="parked-{second}"' in page
    assert "scorer timed out" in page and PARKED_TEXT not in page
    overview = await (await client.get("/admin")).text()
    assert "Aparcados tras fallar todos los intentos: 2." in overview
    status, location, _ = await _post(client, "/admin/messages/retry", token, ids=str(first))
    assert (status, location) == (303, "/admin/messages?retried=1")
    assert "Mensajes devueltos a la cola: 1." in await (await client.get(location)).text()

    async def stage(message_id: int) -> tuple[str, bool]:
        c = messages_table.c
        async with engine.connect() as conn:
            row = (await conn.execute(select(c.stage, c.failed_at).where(c.id == message_id))
                   ).one()
        return row.stage, row.failed_at is not None

    deadline = time.monotonic() + 30
    while await stage(first) != ("notified", False) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await stage(first) == ("notified", False)
    assert await stage(second) == ("received", True)  # still parked
    status, location, _ = await _post(client, "/admin/messages/retry", token, all="1")
    assert location == "/admin/messages?retried=1"
    assert [d for _, _, d in await _audit(engine, "messages.retry")] == [
        {"ids": [first]}, {"ids": [second]}]
    assert {a for a, _, _ in await _audit(engine, "messages.retry")} == {"admin:lucia"}
    nothing, _, text = await _post(client, "/admin/messages/retry", token)
    assert nothing == 422 and "re-drive" in text


async def test_policy_errors_with_file_and_line_after_a_broken_reload(
        client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "lucia")
    staff = _policies(client) / "staff.yaml"
    good = staff.read_text(encoding="utf-8")
    lines = good.splitlines()
    line = next(n for n, text in enumerate(lines, start=1)
                if text == "    timezone: Europe/Madrid" and n > 20)
    lines[line - 1] = "    timezone: Europe/Nowhere"
    staff.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, location, _ = await _post(client, "/admin/policy/reload", token)
    assert (status, location) == (303, "/admin/policy?reloaded=refused")
    page = await (await client.get(location)).text()
    assert "Los archivos tienen errores" in page
    errors = page[page.index('id="policy-errors"'):]
    assert "<code>staff.yaml</code>" in errors
    assert f'data-label="Línea">{line}</td>' in errors
    assert "Europe/Nowhere" in errors
    # The last good policy stays in force: the admin still has the desk.
    overview = await (await client.get("/admin")).text()
    assert "Requiere atención" in overview
    staff.write_text(good, encoding="utf-8")
    status, location, _ = await _post(client, "/admin/policy/reload", token)
    assert location == "/admin/policy?reloaded=loaded"
    fixed = await (await client.get(location)).text()
    assert "Ninguno: los archivos cargan bien." in fixed
    assert [d for _, _, d in await _audit(engine, "policy.reload")] == [
        {"loaded": False, "errors": 1}, {"loaded": True, "errors": 0}]


async def test_connectors_show_when_the_policy_has_some(client: Client,
                                                        engine: AsyncEngine) -> None:
    (_policies(client) / "connectors.yaml").write_text(
        "connectors:\n  - id: forms\n    kind: webhook\n    secret: \"{env:FORMS_SECRET}\"\n",
        encoding="utf-8")
    assert client.app[policy_key].reload()
    await sign_in_as(client, engine, "lucia")
    overview = await (await client.get("/admin")).text()
    assert 'href="/admin/connectors"' in overview and "Con problemas: forms." in overview
    page = await (await client.get("/admin/connectors")).text()
    row = page[page.index('id="connector-forms"'):]
    assert "Secretos sin definir" in row and "FORMS_SECRET" in row


async def test_no_secret_in_any_page(client: Client, engine: AsyncEngine,
                                     receiver: JsonReceiver) -> None:
    _set_channels(client, "lucia", [
        receiver.url("hook", userinfo="guardian:{env:HOOK_PASSWORD}@")])
    _, api = await create_token(engine=engine, name="prometheus", role=Role.admin)
    await sign_in_as(client, engine, "lucia")
    for path in (*PAGES, "/admin/tokens?all=1"):
        text = await (await client.get(path)).text()
        assert SECRET not in text and SMTP_SECRET not in text and api not in text, path
        assert client.app[settings_key].secret_key not in text, path
