"""Replying to a citizen on Bluesky against the fake PDS (tests/fakes/bluesky.py): the
thread's references, the 300-grapheme limit, a gone post, refused credentials, no network."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
import regex  # type: ignore[import-untyped]
from aiohttp import web

from guardian.connectors.bluesky_reply import ELLIPSIS, GONE, fit, post_bluesky_reply
from tests.fakes.bluesky import FakeBluesky
from tests.receivers import closed_port

CREATE = "com.atproto.repo.createRecord"
THANKS = "Gracias por avisar: los operarios pasarán mañana por la calle Real."


@pytest.fixture
async def fake() -> AsyncIterator[FakeBluesky]:
    server = await FakeBluesky().start()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


async def reply(fake: FakeBluesky, http: aiohttp.ClientSession, parent: str,
                text: str = THANKS, **options: str) -> tuple[int, str | None]:
    return await post_bluesky_reply(http, fake.service, fake.identifier, fake.password,
                                    parent, text, **options)


async def test_a_reply_to_a_mention_names_it_as_root_and_parent(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    mention = fake.add_post("La farola de la calle Real no funciona")

    assert await reply(fake, http, mention["uri"], lang="es") == (200, None)

    [posted] = fake.created
    ref = {"uri": mention["uri"], "cid": mention["cid"]}
    assert posted["reply"] == {"root": ref, "parent": ref}
    assert posted["$type"] == "app.bsky.feed.post" and posted["text"] == THANKS
    assert posted["langs"] == ["es"]
    created = dt.datetime.fromisoformat(posted["createdAt"].replace("Z", "+00:00"))
    assert posted["createdAt"].endswith("Z")
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=1)
    assert posted["_uri"].startswith(f"at://{fake.did}/app.bsky.feed.post/")
    [looked_up] = fake.calls("app.bsky.feed.getPosts")
    assert looked_up.params == {"uris": mention["uri"]}
    [token] = fake._access
    assert fake.sessions_created == 1
    assert [call.authorization for call in fake.requests[1:]] == [f"Bearer {token}"] * 2


async def test_a_reply_to_a_reply_keeps_the_thread_s_root(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    town_post = f"at://{fake.did}/app.bsky.feed.post/3kbandoferia"
    answer = fake.add_post("¿Y el mercadillo del jueves también cambia de sitio?",
                           reason="reply", reply_to=town_post)

    assert await reply(fake, http, answer["uri"], "Sí, este jueves se pone en la plaza.") \
        == (200, None)

    [posted] = fake.created
    assert posted["reply"]["root"] == answer["record"]["reply"]["root"]
    assert posted["reply"]["root"]["uri"] == town_post
    assert posted["reply"]["parent"] == {"uri": answer["uri"], "cid": answer["cid"]}
    assert "langs" not in posted


async def test_a_long_text_is_cut_with_an_ellipsis(fake: FakeBluesky,
                                                   http: aiohttp.ClientSession) -> None:
    mention = fake.add_post("¿Cuándo abre la piscina municipal?")
    # Accents written as combining marks: 2 code points, 1 grapheme each.
    long = "La piscina abrirá el 15 de junio, de 11 a 20 h. " * 4 + "Más informacio\u0301n " * 30

    assert await reply(fake, http, mention["uri"], long) == (200, None)

    text = fake.created[0]["text"]
    assert text.endswith(ELLIPSIS) and graphemes(text) <= 300
    assert long.startswith(text.removesuffix(ELLIPSIS))
    assert not text.removesuffix(ELLIPSIS).endswith(("o", " "))   # no orphaned accent


def test_the_cut_never_splits_what_reads_as_one_character() -> None:
    short = "Gracias 👍🏽 🇪🇸"
    assert fit(short) == short
    family = "👨‍👩‍👧"   # one grapheme of five code points
    cut = fit("a" * 297 + family + "b" * 10)
    assert graphemes(cut) <= 300 and "\u200d" not in cut[-3:] and cut.endswith(ELLIPSIS)
    flags = fit("a" * 298 + "🇪🇸" * 5)
    assert graphemes(flags) <= 300 and not flags.endswith("🇪" + ELLIPSIS)
    assert all(graphemes(fit(text)) <= 300 and len(fit(text).encode()) <= 3000
               for text in ("é" * 400, "e\u0301\u0301\u0301" * 300, "\n\u0301" * 200,
                            "👍🏽" * 400, "x" * 300, "x" * 301))
    assert fit("x" * 300) == "x" * 300


async def test_a_gone_post_is_a_404_and_nothing_is_posted(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    gone = "at://did:plc:lucia000vecina/app.bsky.feed.post/3lborrado0001"

    assert await reply(fake, http, gone) == (404, GONE)
    assert fake.created == [] and fake.calls(CREATE) == []


async def test_a_wrong_app_password_is_a_401_without_secrets(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    mention = fake.add_post("El contenedor de papel está lleno")
    wrong = "zzzz-yyyy-xxxx-wwww"

    status, error = await post_bluesky_reply(http, fake.service, fake.identifier, wrong,
                                             mention["uri"], THANKS)

    assert status == 401 and error is not None and "password" in error
    secrets = [wrong, fake.password, *fake._access, *fake._refresh]
    assert not any(secret in error for secret in secrets)
    assert fake.created == [] and fake.calls(CREATE) == []


async def test_an_email_code_request_says_so(fake: FakeBluesky,
                                             http: aiohttp.ClientSession,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    mention = fake.add_post("¿Hay recogida de muebles esta semana?")
    monkeypatch.setattr(fake, "_create_session", _asks_for_a_code(fake))

    status, error = await reply(fake, http, mention["uri"])

    assert status == 401 and error is not None and "app password" in error
    assert fake.password not in error


def _asks_for_a_code(fake: FakeBluesky) -> Callable[[web.Request], Awaitable[web.Response]]:
    """createSession as the PDS answers an account with email sign-in codes on."""
    async def create_session(request: web.Request) -> web.Response:
        return fake._error(401, "AuthFactorTokenRequired",
                           "A sign in code has been sent to your email address")
    return create_session


async def test_a_server_error_on_the_post_is_reported_with_its_status(
        fake: FakeBluesky, http: aiohttp.ClientSession) -> None:
    mention = fake.add_post("Se ha caído una rama en el parque")
    fake.fail_status = 503

    status, error = await reply(fake, http, mention["uri"])

    assert status == 503 and error is not None and "503" in error
    assert fake.password not in error


async def test_a_refused_connection_is_status_0(http: aiohttp.ClientSession) -> None:
    service = f"http://127.0.0.1:{closed_port()}"

    status, error = await post_bluesky_reply(
        http, service, "ayto-villaejemplo.bsky.social", "abcd-efgh-ijkl-mnop",
        "at://did:plc:lucia000vecina/app.bsky.feed.post/3l00000000001", THANKS)

    assert status == 0 and error is not None and "could not be reached" in error
    assert "abcd-efgh-ijkl-mnop" not in error


async def test_not_a_post_uri_is_refused_without_a_call(fake: FakeBluesky,
                                                        http: aiohttp.ClientSession) -> None:
    assert (await reply(fake, http, "https://bsky.app/profile/lucia/post/3l1"))[0] == 400
    assert fake.requests == []


async def test_the_fake_refuses_what_the_pds_refuses(fake: FakeBluesky,
                                                     http: aiohttp.ClientSession) -> None:
    """The checks above mean something only if the fake would have said no."""
    mention = fake.add_post("¿Dónde se recogen las bolsas de poda?")
    async with http.post(f"{fake.service}/xrpc/com.atproto.server.createSession",
                         json={"identifier": fake.identifier,
                               "password": fake.password}) as response:
        token = (await response.json())["accessJwt"]
    ref = {"uri": mention["uri"], "cid": mention["cid"]}

    async def create(record: dict[str, object], repo: str = fake.did) -> tuple[int, str]:
        body = {"repo": repo, "collection": "app.bsky.feed.post",
                "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-03-10T09:00:00Z",
                           **record}}
        async with http.post(f"{fake.service}/xrpc/{CREATE}", json=body,
                             headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status, (await response.json()).get("error", "")

    assert await create({"text": "x" * 301, "reply": {"root": ref, "parent": ref}}) \
        == (400, "InvalidRecord")
    assert await create({"text": "Hola", "reply": {"root": ref, "parent": {
        "uri": mention["uri"], "cid": "bafyotro"}}}) == (400, "InvalidRecord")
    assert await create({"text": "Hola"}, repo="did:plc:otra") == (400, "InvalidRequest")
    assert fake.created == []
    assert await create({"text": "x" * 300, "reply": {"root": ref, "parent": ref}}) \
        == (200, "")
