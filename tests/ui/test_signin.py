"""Signing in over plain HTTP: invitations, passwords, sessions and their cookie, CSRF,
attempts limited, sign-out here and everywhere, the audit trail, and the headers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.storage.accounts import (
    ATTEMPT_WINDOW,
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_ADDRESS,
    accounts_table,
    attempts_table,
    sessions_table,
)
from guardian.storage.audit import audit_table
from guardian.storage.db import utcnow
from guardian.types import Role
from guardian.web.app import init_app
from guardian.web.ui.render import CONTENT_SECURITY_POLICY
from guardian.web.ui.sessions import COOKIE, PRE_COOKIE
from tests.conftest import AiohttpClient, Client, bearer, with_settings
from tests.ui.conftest import PASSWORD, accept, form_token, invite, sign_in_as


async def _sign_in(client: Client, staff_id: str, password: str, next_: str = "/"
                   ) -> tuple[int, str, str]:
    page = await client.get("/signin")
    response = await client.post("/signin", data={
        "csrf_token": form_token(await page.text()), "staff_id": staff_id,
        "password": password, "next": next_}, allow_redirects=False)
    return response.status, response.headers.get("Location", ""), await response.text()


async def _actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(audit_table.c.action)
                                        .order_by(audit_table.c.id))).scalars())


async def test_an_invitation_sets_a_password_once_and_signs_in(client: Client,
                                                               engine: AsyncEngine) -> None:
    path = await invite(engine, "maria")
    opened = await client.get(path)
    assert opened.status == 200 and "María" in await opened.text()
    await accept(client, path)
    assert (await client.get("/", allow_redirects=False)).headers["Location"] == "/moderation"
    queue = await client.get("/moderation")
    assert queue.status == 200 and "Cola de revisión" in await queue.text()
    # Used: the link shows why it no longer works, and cannot set another password.
    again = await client.get(path)
    assert again.status == 404 and "ya no funciona" in await again.text()
    async with engine.connect() as conn:
        stored = (await conn.execute(select(accounts_table))).mappings().one()
        sessions = (await conn.execute(select(sessions_table))).mappings().all()
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in stored["password_hash"]
    [session] = sessions
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    assert session["id_hash"] != cookie and cookie not in str(dict(session))
    assert {"account.invite", "account.password_set", "session.signin"} <= set(
        await _actions(engine))


async def test_a_password_too_short_or_mistyped_is_refused(client: Client,
                                                          engine: AsyncEngine) -> None:
    path = await invite(engine, "maria")
    token = form_token(await (await client.get(path)).text())
    short = await client.post(path, data={"csrf_token": token, "password": "corta",
                                          "again": "corta"})
    assert short.status == 422 and "al menos 10 caracteres" in await short.text()
    different = await client.post(path, data={"csrf_token": token, "password": PASSWORD,
                                              "again": PASSWORD + "x"})
    assert different.status == 422 and "no coinciden" in await different.text()
    assert (await client.get(path)).status == 200  # still usable


async def test_the_cookie_is_httponly_and_lax_and_the_pages_strict(
        client: Client, engine: AsyncEngine) -> None:
    path = await invite(engine, "maria")
    page = await client.get(path)
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    token = form_token(await page.text())
    done = await client.post(path, data={"csrf_token": token, "password": PASSWORD,
                                         "again": PASSWORD}, allow_redirects=False)
    cookie = done.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http here; https public URLs get Secure (below)


async def test_secure_cookies_behind_https(aiohttp_client: AiohttpClient,
                                           settings: Settings, engine: AsyncEngine) -> None:
    client = await aiohttp_client(init_app(with_settings(
        settings, public_url="https://guardian.example.org"), run_worker=False))
    path = await invite(engine, "maria")
    page = await client.get(path)
    form_cookie = page.cookies[PRE_COOKIE]
    assert form_cookie["secure"] and form_cookie["httponly"]
    # The test client speaks plain http, so it keeps Secure cookies to itself: sent by hand.
    done = await client.post(path, data={"csrf_token": form_token(await page.text()),
                                         "password": PASSWORD, "again": PASSWORD},
                             cookies={PRE_COOKIE: form_cookie.value}, allow_redirects=False)
    assert done.status == 303 and done.cookies[COOKIE]["secure"]


async def test_signing_in_with_a_password(client: Client, engine: AsyncEngine) -> None:
    await accept(client, await invite(engine, "maria"))
    client.session.cookie_jar.clear()
    status, location, _ = await _sign_in(client, "maria", PASSWORD, "/moderation?level=rude")
    assert (status, location) == (303, "/moderation?level=rude")
    # Never to another site after signing in.
    client.session.cookie_jar.clear()
    status, location, _ = await _sign_in(client, "maria", PASSWORD, "//evil.example/")
    assert (status, location) == (303, "/")
    client.session.cookie_jar.clear()
    status, _, text = await _sign_in(client, "maria", "not the password")
    assert status == 401 and "no coinciden" in text
    status, _, text = await _sign_in(client, "nadie", PASSWORD)
    assert status == 401 and "no coinciden" in text  # unknown people look the same


async def test_a_get_without_a_session_goes_to_sign_in_and_back(client: Client) -> None:
    response = await client.get("/moderation?level=rude", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/signin?next=%2Fmoderation%3Flevel%3Drude"


async def _failed_before(engine: AsyncEngine, count: int, *, staff_id: str | None = None,
                         address: str = "127.0.0.1") -> None:
    """Failed attempts a moment ago, as the sign-in form records them (each real one
    costs an argon2 verification: a test makes only the last ones over HTTP)."""
    at = utcnow() - dt.timedelta(minutes=1)
    async with engine.begin() as conn:
        await conn.execute(insert(attempts_table), [
            {"at": at, "staff_id": staff_id or f"person{n}", "address": address, "ok": False}
            for n in range(count)])


async def test_attempts_are_limited_per_account(client: Client, engine: AsyncEngine) -> None:
    await accept(client, await invite(engine, "maria"))
    client.session.cookie_jar.clear()
    # Others' addresses: the account's own count locks it.
    await _failed_before(engine, MAX_FAILURES_PER_ACCOUNT - 1, staff_id="maria",
                         address="192.0.2.7")
    assert (await _sign_in(client, "maria", "wrong password"))[0] == 401
    # Now even the right password waits: guessing gains nothing.
    status, _, text = await _sign_in(client, "maria", PASSWORD)
    assert status == 429 and "Demasiados intentos" in text
    assert "session.refused" in await _actions(engine)
    # Failures older than the window count no more.
    async with engine.begin() as conn:
        await conn.execute(update(attempts_table).values(
            at=utcnow() - ATTEMPT_WINDOW - dt.timedelta(seconds=1)))
    assert (await _sign_in(client, "maria", PASSWORD))[0] == 303


async def test_attempts_are_limited_per_address(client: Client, engine: AsyncEngine) -> None:
    await accept(client, await invite(engine, "elena"))
    client.session.cookie_jar.clear()
    await _failed_before(engine, MAX_FAILURES_PER_ADDRESS - 1)
    assert (await _sign_in(client, "nadie", "wrong password"))[0] == 401
    response = await client.get("/signin")
    refused = await client.post("/signin", data={
        "csrf_token": form_token(await response.text()), "staff_id": "elena",
        "password": PASSWORD, "next": "/"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0


async def test_old_attempts_are_not_kept(client: Client, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(attempts_table).values(
            at=utcnow() - dt.timedelta(days=2), staff_id="maria", address="192.0.2.7",
            ok=False))
    await _sign_in(client, "maria", "wrong password")
    async with engine.connect() as conn:
        kept = (await conn.execute(select(attempts_table.c.address))).scalars().all()
    assert kept == ["127.0.0.1"]


async def test_a_post_without_the_csrf_token_is_refused(client: Client,
                                                       engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "maria")
    refused = await client.post("/signout", data={})
    assert refused.status == 403
    assert "código de seguridad" in await refused.text()
    wrong = await client.post("/signout", data={"csrf_token": "0" * 64})
    assert wrong.status == 403
    # Still signed in: nothing changed.
    assert (await client.get("/moderation")).status == 200
    ok = await client.post("/signout", data={"csrf_token": token}, allow_redirects=False)
    assert ok.status == 303
    # The sign-in form is no exception.
    signin = await client.post("/signin", data={"staff_id": "maria", "password": PASSWORD})
    assert signin.status == 403


async def test_a_session_is_refused_after_sign_out(client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "maria")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    await client.post("/signout", data={"csrf_token": token})
    # The old cookie, replayed, opens nothing.
    replay = await client.get("/moderation", cookies={COOKIE: cookie}, allow_redirects=False)
    assert replay.status == 303 and replay.headers["Location"].startswith("/signin")
    post = await client.post("/moderation/1/claim", cookies={COOKIE: cookie},
                             data={"csrf_token": token})
    assert post.status == 403 and "sesión ha terminado" in await post.text()
    assert "session.signout" in await _actions(engine)


async def test_sign_out_everywhere_ends_every_session(client: Client,
                                                      engine: AsyncEngine) -> None:
    await accept(client, await invite(engine, "maria"))
    jar = client.session.cookie_jar
    phone = jar.filter_cookies(client.make_url("/"))[COOKIE].value
    jar.clear()
    status, _, _ = await _sign_in(client, "maria", PASSWORD)  # a second device
    assert status == 303
    token = form_token(await (await client.get("/moderation")).text())
    await client.post("/signout/everywhere", data={"csrf_token": token})
    replay = await client.get("/moderation", cookies={COOKIE: phone}, allow_redirects=False)
    assert replay.status == 303
    assert "session.signout_all" in await _actions(engine)


async def test_api_tokens_do_not_open_pages_and_sessions_do_not_open_the_api(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    page = await client.get("/moderation", headers=bearer(tokens[Role.admin]),
                            allow_redirects=False)
    assert page.status == 303
    await sign_in_as(client, engine, "maria")
    assert (await client.get("/api/v1/review")).status == 401


async def test_staff_who_are_not_moderators_may_not_open_the_queue(
        client: Client, engine: AsyncEngine) -> None:
    await sign_in_as(client, engine, "antonio")
    home = await client.get("/")
    assert home.status == 200 and "Hola, Antonio" in await home.text()
    refused = await client.get("/moderation")
    # The API tokens' own sentence.
    assert refused.status == 403
    assert "not listed in moderation.moderators" in await refused.text()


async def test_the_language_is_the_persons_choice(client: Client, engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "maria")
    switched = await client.post("/language", data={"csrf_token": token, "lang": "en",
                                                    "next": "/moderation"},
                                 allow_redirects=False)
    assert switched.headers["Location"] == "/moderation"
    page = await client.get("/moderation")
    text = await page.text()
    assert '<html lang="en">' in text and "Review queue" in text
    async with engine.connect() as conn:
        chosen = (await conn.execute(select(accounts_table.c.lang))).scalar_one()
    assert chosen == "en"
    # Before signing in, the choice is a cookie of its own.
    client.session.cookie_jar.clear()
    signin = await client.get("/signin")
    assert "Entrar" in await signin.text()
    await client.post("/language", data={"csrf_token": form_token(await signin.text()),
                                         "lang": "en", "next": "/signin"})
    assert "Sign in" in await (await client.get("/signin")).text()
