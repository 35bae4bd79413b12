"""Fixtures: a real database (SQLite file or PostgreSQL), the real app over real HTTP.

Tests that take `database` run twice, on SQLite and on PostgreSQL. PostgreSQL tests are
skipped when no server answers, unless GUARDIAN_REQUIRE_POSTGRES=1 (set by .ci/run), which
turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import shutil
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.policy.model import Policy
from guardian.policy_files.loader import load_policy
from guardian.storage.db import create_engine
from guardian.storage.migrate import upgrade
from guardian.storage.tokens import create_token
from guardian.types import Role
from guardian.web.app import init_app
from tests.receivers import JsonReceiver, closed_port

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
# The labelled data beside the project (../shared/data); tests that need it skip without it.
SHARED_DATA = ROOT.parent / "shared" / "data"
POSTGRES_URL = os.environ.get("GUARDIAN_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("GUARDIAN_REQUIRE_POSTGRES") == "1"
TABLES = ("messages", "stage_events", "api_tokens", "overrides", "audit_log", "pages",
          "page_events", "review_items", "author_sanctions", "moderator_exposure",
          "notifications", "delivery_attempts", "calendar_links", "connector_state",
          "request_states", "accounts", "invitations", "web_sessions",
          "signin_attempts")

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
Client = TestClient[web.Request, web.Application]


# Fixtures that reach a database, a server or the real app: a test using one is not pure.
IO_FIXTURES = frozenset({"database", "engine", "postgres_database", "postgres_session_url",
                         "sqlite_template", "settings", "client", "live_client", "receiver",
                         "tokens", "aiohttp_client", "aiohttp_server"})


def _mirrors_pure_module(path: Path) -> bool:
    """`tests/decide/test_rules.py` mirrors `guardian.decide.rules`: pure when the import
    contract (tests/test_layers.py) lists that module among the pure ones."""
    from tests.test_layers import PURE_PREFIXES

    relative = path.relative_to(ROOT / "tests").with_suffix("")
    module = ".".join(["guardian", *relative.parent.parts, relative.name.removeprefix("test_")])
    return any(module == p or module.startswith(p + ".") for p in PURE_PREFIXES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `pure` the tests of pure modules that use no database or server: `make unit`
    runs them alone, in seconds."""
    for item in items:
        if (item.get_closest_marker("pure") is None and _mirrors_pure_module(item.path)
                and IO_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.pure)


@functools.cache
def example_policy() -> Policy:
    """The example town of policies/, loaded once for the session (the model is frozen)."""
    loaded = load_policy(POLICIES)
    assert loaded.policy is not None, [str(p) for p in loaded.errors]
    return loaded.policy


@pytest.fixture(scope="session")
def town() -> Policy:
    return example_policy()


@dataclass(frozen=True)
class Database:
    kind: str
    url: str


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def new_postgres_database() -> str:
    """A new, empty PostgreSQL database; returns its URL. Skips (or fails) without a server."""
    name = f"guardian_test_{secrets.token_hex(4)}"
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = (f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}); "
                  "start it, or point GUARDIAN_TEST_POSTGRES_URL at one, to run these tests")
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (GUARDIAN_REQUIRE_POSTGRES=1 makes this mandatory)")
        pytest.skip(reason)
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def remove_postgres_database(url: str) -> None:
    name = make_url(url).database
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One PostgreSQL database for the session, migrated once; tests truncate it."""
    url = asyncio.run(new_postgres_database())

    async def migrate() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    yield url
    asyncio.run(remove_postgres_database(url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated once for the session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "guardian.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    # One self-contained file (no write-ahead log beside it), so a copy is the database.
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "guardian.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield Database("sqlite", f"sqlite:///{path}")
        return
    yield request.getfixturevalue("postgres_database")


@pytest.fixture
def postgres_database(postgres_session_url: str) -> Database:
    """The session's PostgreSQL database, emptied for this test."""

    async def truncate() -> None:
        engine = create_engine(postgres_session_url)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))
        await engine.dispose()

    asyncio.run(truncate())
    return Database("postgresql", postgres_session_url)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    # The example policy's channels are real-looking hosts: the running app must never
    # try them from a test, so everything goes to a closed loopback port (refused at once).
    return Settings(env="development", database_url=database.url, policies_dir=POLICIES,
                    worker_poll_seconds=0.05, token_cache_seconds=0.05,
                    models_dir=tmp_path / "models", scoring_wait_ms=0,
                    deliver_to=f"json://127.0.0.1:{closed_port()}/{{person}}")


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    """The real app, without its background worker (tests drive workers themselves)."""
    return await aiohttp_client(init_app(settings, run_worker=False))


@pytest.fixture
async def live_client(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    """The real app with its pipeline worker running, as `guardian serve` runs it."""
    return await aiohttp_client(init_app(settings))


@pytest.fixture
async def receiver() -> AsyncIterator[JsonReceiver]:
    """A JSON webhook receiver on loopback: what apprise's json:// notifications reach."""
    server = await JsonReceiver().start()
    yield server
    await server.close()


@pytest.fixture
async def tokens(engine: AsyncEngine) -> dict[Role, str]:
    """One live token per role; the staff token is Pablo's (police), the moderator's
    María's (the example policy's moderator)."""
    made = {}
    people = {Role.staff: "pablo", Role.moderator: "maria"}
    for role in Role:
        _, token = await create_token(engine=engine, name=f"test-{role.value}", role=role,
                                      staff_id=people.get(role))
        made[role] = token
    return made


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def message(external_id: str = "1", **fields: object) -> dict[str, object]:
    """A valid, mild ingest payload; `fields` override or add keys."""
    body: dict[str, object] = {
        "source": "twitter",
        "external_id": external_id,
        "author": {"handle": "@vecina", "name": "Una vecina"},
        "text": "La farola de la calle Real no funciona desde ayer",
        "created_at": "2026-11-25T22:48:00+01:00",
        "mentions": ["@antonio_luz"],
        "lang": "es",
    }
    body.update(fields)
    return body


def with_settings(settings: Settings, **changes: object) -> Settings:
    return replace(settings, **changes)  # type: ignore[arg-type]


NEW_PERSON = """\
  - id: nuria
    name: Nuria Gil
    role: Electricista (electrician)
    handles: {twitter: "@nuria_luz"}
    timezone: Europe/Madrid
    languages: [es]
"""


def add_person(directory: Path) -> None:
    """Add a ninth member of staff to a copy of the example policies."""
    staff = directory / "staff.yaml"
    staff.write_text(staff.read_text().replace("staff:\n", "staff:\n" + NEW_PERSON, 1))
