"""The auth matrix: each role against each endpoint; no token 401, wrong role 403."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.policy_files.loader import load_policy
from guardian.storage.models import ApiToken
from guardian.storage.tokens import (
    create_token,
    find_token,
    hash_token,
    revoke_token,
    tokens_table,
)
from guardian.types import Role
from guardian.web import auth
from guardian.web.access import PUBLIC, SESSION, access_of, is_web_page
from guardian.web.app import init_app
from guardian.web.auth import Principal, TokenVerifier, binding_problem
from tests.conftest import POLICIES, Client, bearer, message
from tests.ui.conftest import sign_in_as

IN, S, M, H, A = Role.ingest, Role.staff, Role.moderator, Role.hr, Role.admin
R = Role.report  # the wellbeing report's readers (the mayor)
# (method, path, roles allowed). Written out here, independently of the code's own rules.
MATRIX: list[tuple[str, str, set[Role]]] = [
    ("POST", "/api/v1/messages", {IN, A}),
    ("POST", "/api/v1/messages/retry", {A}),
    ("GET", "/api/v1/messages/1", {S, M, A}),
    ("POST", "/api/v1/messages/1/flag", {S, M, H, A}),
    ("GET", "/api/v1/openapi.json", {IN, S, M, H, R, A}),
    ("GET", "/metrics", {A}),
    ("GET", "/api/v1/overrides", {S, M, H, A}),
    ("POST", "/api/v1/overrides", {H, A}),
    ("DELETE", "/api/v1/overrides/1", {S, H, A}),
    ("POST", "/api/v1/swaps", {S, A}),
    ("POST", "/api/v1/swaps/1/accept", {S, H, A}),
    ("POST", "/api/v1/swaps/1/decline", {S, H, A}),
    ("POST", "/api/v1/swaps/1/approve", {H, A}),
    ("GET", "/api/v1/audit", {H, A}),
    ("GET", "/api/v1/oncall", {S, M, H, A}),
    ("GET", "/api/v1/teams/police/shifts", {S, M, H, A}),
    ("GET", "/api/v1/calendar-links?team=police", {S, H, A}),
    ("POST", "/api/v1/calendar-links/revoke", {S, H, A}),
    ("GET", "/api/v1/pages", {S, M, H, A}),
    ("GET", "/api/v1/pages/1", {S, M, H, A}),
    ("POST", "/api/v1/pages/1/ack", {S, H, A}),
    ("GET", "/api/v1/review", {M, A}),
    ("GET", "/api/v1/review/1", {M, A}),
    ("POST", "/api/v1/review/1/claim", {M, A}),
    ("POST", "/api/v1/review/1/release", {M, A}),
    ("POST", "/api/v1/review/1/decide", {M, A}),
    ("POST", "/api/v1/review/bulk", {M, A}),
    ("GET", "/api/v1/moderators/me/exposure", {M, A}),
    ("GET", "/api/v1/notifications", {S, H, A}),
    ("GET", "/api/v1/notifications/1", {S, H, A}),
    ("POST", "/api/v1/replies", {IN, A}),
    ("GET", "/api/v1/escalations", {S, M, H, A}),
    ("POST", "/api/v1/privacy/export", {A}),
    ("POST", "/api/v1/privacy/erase", {A}),
    ("GET", "/api/v1/messages/1/status", {S, H, A}),
    ("POST", "/api/v1/messages/1/status", {S, H, A}),
    ("GET", "/api/v1/report/wellbeing", {H, R, A}),
    ("GET", "/api/v1/report/wellbeing.csv", {H, R, A}),
    ("POST", "/api/v1/policy/what-if", {H, A}),
]


async def _call(client: Client, method: str, path: str, headers: dict[str, str]) -> int:
    payload = message("auth") if method == "POST" else None
    response = await client.request(method, path, json=payload, headers=headers)
    return response.status


@pytest.mark.parametrize(("method", "path", "allowed"), MATRIX)
async def test_each_role_against_each_endpoint(client: Client, tokens: dict[Role, str],
                                               method: str, path: str,
                                               allowed: set[Role]) -> None:
    await client.post("/api/v1/messages", json=message("auth"), headers=bearer(tokens[IN]))
    for role, token in tokens.items():
        status = await _call(client, method, path, bearer(token))
        if role in allowed:
            # Past the door: what happens next (200, 404, 422...) is for other tests.
            assert status not in (401, 403), (role, method, path, status)
        else:
            assert status == 403, (role, method, path, status)
    assert await _call(client, method, path, {}) == 401
    assert await _call(client, method, path, {"Authorization": "Basic dXNlcjpwYXNz"}) == 401
    assert await _call(client, method, path, bearer("gdn_not-a-real-token")) == 401


def test_the_matrix_covers_every_route_that_needs_a_token(settings: Settings) -> None:
    """A new route cannot slip past this table: every route but the public ones (health,
    the signed links, the hooks that check their own secrets) and the web pages (their own
    table, below) is in it."""
    app = init_app(settings, run_worker=False)
    missing = []
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        if access_of(route.handler) in (PUBLIC, SESSION):
            continue
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route.resource.canonical))
        if not any(method == route.method and re.fullmatch(pattern, path.split("?")[0])
                   for method, path, _ in MATRIX):
            missing.append(f"{route.method} {route.resource.canonical}")
    assert missing == []


# The web pages (guardian.web.ui): a signed-in session opens them, never a bearer token.
# (method, path, who may: None for anyone signed in, else the role the person must hold.)
PAGES: list[tuple[str, str, Role | None]] = [
    ("GET", "/", None),
    ("POST", "/signout", None),
    ("POST", "/signout/everywhere", None),
    ("GET", "/moderation", M),
    ("GET", "/moderation/1", M),
    ("POST", "/moderation/1/claim", M),
    ("POST", "/moderation/1/release", M),
    ("POST", "/moderation/1/reveal", M),
    ("POST", "/moderation/1/decide", M),
    ("POST", "/moderation/bulk", M),
    # The admin's desk: the policy's delivery.admins.
    ("GET", "/admin", A),
    ("GET", "/admin/tokens", A),
    ("POST", "/admin/tokens", A),
    ("POST", "/admin/tokens/1/revoke", A),
    ("GET", "/admin/people", A),
    ("POST", "/admin/people/invite", A),
    ("POST", "/admin/people/signout", A),
    ("GET", "/admin/channels", A),
    ("POST", "/admin/channels/test", A),
    ("GET", "/admin/messages", A),
    ("POST", "/admin/messages/retry", A),
    ("GET", "/admin/connectors", A),
    ("GET", "/admin/policy", A),
    ("POST", "/admin/policy/reload", A),
    # The message page: anyone in the policy; which messages is the page's own rule.
    ("GET", "/messages/1", None),
    ("POST", "/messages/1/flag", None),
    ("POST", "/messages/1/status", None),
    # Staff's own pages.
    ("GET", "/today", None),
    ("GET", "/inbox", None),
    ("POST", "/inbox/read", None),
    ("GET", "/channels", None),
    ("POST", "/channels/test", None),
    ("GET", "/swaps", None),
    ("POST", "/swaps", None),
    ("POST", "/swaps/1/accept", None),
    ("POST", "/swaps/1/decline", None),
    ("POST", "/swaps/1/withdraw", None),
    # HR's pages: the policy's moderation.hr.
    # The wellbeing report: HR and moderation.report_readers (the mayor).
    ("GET", "/report", R),
    ("GET", "/report.csv", R),
    ("GET", "/hr/schedule", H),
    ("GET", "/hr/overrides", H),
    ("POST", "/hr/overrides", H),
    ("POST", "/hr/overrides/1/approve", H),
    ("POST", "/hr/overrides/1/decline", H),
    ("POST", "/hr/overrides/1/cancel", H),
    ("GET", "/hr/what-if", H),
    ("POST", "/hr/what-if", H),
    ("GET", "/hr/holidays", H),
    ("GET", "/hr/policy", H),
]


def test_the_pages_table_covers_every_page_behind_a_session(settings: Settings) -> None:
    app = init_app(settings, run_worker=False)
    missing = []
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        if access_of(route.handler) != SESSION:
            continue
        assert is_web_page(route.handler), route  # and left out of the API document
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route.resource.canonical))
        if not any(method == route.method and re.fullmatch(pattern, path)
                   for method, path, _ in PAGES):
            missing.append(f"{route.method} {route.resource.canonical}")
    assert missing == []


@pytest.mark.parametrize(("method", "path", "role"), PAGES)
async def test_each_page_needs_a_session_of_the_right_person(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str], method: str,
        path: str, role: Role | None) -> None:
    async def call(headers: dict[str, str] | None = None, data: dict[str, str] | None = None
                   ) -> int:
        response = await client.request(method, path, headers=headers, data=data,
                                        allow_redirects=False)
        return response.status

    # No session, even with the admin's token: GET goes to sign in, POST is refused.
    for headers in ({}, bearer(tokens[A])):
        assert await call(headers) == (303 if method == "GET" else 403)
    # Antonio is staff, not a moderator.
    token = await sign_in_as(client, engine, "antonio")
    status = await call(data={"csrf_token": token})
    if role is None:
        assert status not in (401, 403), status
    else:
        assert status == 403, status
    if method == "POST":  # and never without the session's CSRF token
        assert await call(data={}) == 403


async def test_health_needs_no_token(client: Client) -> None:
    assert (await client.get("/health")).status == 200


async def test_401_and_403_explain_themselves(client: Client, tokens: dict[Role, str]) -> None:
    missing = await client.get("/metrics")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in (await missing.json())["error"]["message"]
    wrong = await client.get("/metrics", headers=bearer(tokens[Role.staff]))
    assert "admin" in (await wrong.json())["error"]["message"]


async def test_tokens_are_stored_hashed(engine: AsyncEngine) -> None:
    _, token = await create_token(engine=engine, name="feed", role=Role.ingest)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(tokens_table))).mappings().one()
    assert token not in stored.values()
    assert stored["token_hash"] == hash_token(token)
    assert token.startswith(stored["prefix"]) and len(stored["prefix"]) < 10


async def test_a_revoked_token_stops_working(client: Client, engine: AsyncEngine) -> None:
    _, token = await create_token(engine=engine, name="feed", role=Role.ingest)
    assert (await client.post("/api/v1/messages", json=message("r1"),
                              headers=bearer(token))).status == 202
    assert await revoke_token(engine=engine, id_or_name="feed") == 1
    await asyncio.sleep(0.1)  # longer than the test settings' token cache
    refused = await client.post("/api/v1/messages", json=message("r2"), headers=bearer(token))
    assert refused.status == 401


async def test_concurrent_requests_share_one_look_up_of_a_token(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A good token is remembered for the cache's seconds; when that runs out under load,
    the requests that find it expired ask the database once between them. A revoked
    token is refused once its entry expires; an unknown one is never remembered."""
    _, token = await create_token(engine=engine, name="feed", role=Role.ingest)
    asked: list[str] = []
    real = find_token

    async def counting(*, engine: AsyncEngine, digest: str) -> ApiToken | None:
        asked.append(digest)
        await asyncio.sleep(0.02)  # a slow database: the others arrive meanwhile
        return await real(engine=engine, digest=digest)

    monkeypatch.setattr(auth, "find_token", counting)
    verifier = TokenVerifier(engine, cache_seconds=0.3)
    first = await asyncio.gather(*(verifier.verify(token) for _ in range(16)))
    assert len(asked) == 1
    assert {p.role if p else None for p in first} == {Role.ingest}
    assert await verifier.verify(token) == first[0] and len(asked) == 1  # remembered
    await asyncio.sleep(0.35)
    await asyncio.gather(*(verifier.verify(token) for _ in range(16)))
    assert len(asked) == 2
    assert await revoke_token(engine=engine, id_or_name="feed") == 1
    await asyncio.sleep(0.35)
    assert set(await asyncio.gather(*(verifier.verify(token) for _ in range(4)))) == {None}
    assert await verifier.verify(token) is None
    assert len(asked) == 4  # refusals are not remembered


def test_a_personal_token_acts_only_for_a_person_of_the_policy_in_force() -> None:
    policy = load_policy(POLICIES).policy
    assert policy is not None

    def problem(role: Role, who: str | None) -> str | None:
        return binding_problem(Principal(token_id=1, name="t", role=role, staff_id=who), policy)

    assert problem(S, "antonio") is None and problem(M, "maria") is None
    assert problem(H, None) is None and problem(A, None) is None and problem(IN, None) is None
    assert "not in the duty policy" in (problem(S, "nadie") or "")
    assert "not listed in moderation.moderators" in (problem(M, "antonio") or "")
    assert "--staff ID" in (problem(S, None) or "")
    # While no policy is loaded, the binding checked at creation stands.
    assert binding_problem(Principal(token_id=1, name="t", role=M, staff_id="x"), None) is None
