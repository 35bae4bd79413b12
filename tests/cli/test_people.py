"""`guardian people`: invitations to sign in, who has a password, signing someone out."""

from __future__ import annotations

import asyncio
import json
import re

from guardian.storage.accounts import open_invitation, open_session
from guardian.storage.db import create_engine, utcnow
from tests.commands import env_for, run
from tests.conftest import Database


def test_invite_prints_a_one_time_link_for_a_person_of_the_policy(database: Database) -> None:
    env = env_for(database, GUARDIAN_PUBLIC_URL="https://guardian.example.org")
    made = run("people", "invite", "maria", "--days", "2", env=env)
    assert made.returncode == 0, made.stderr
    found = re.fullmatch(r"https://guardian\.example\.org/invitation/(\S+)\n", made.stdout)
    assert found is not None, made.stdout
    assert "María Ortega" in made.stderr and "2 days" in made.stderr

    async def check() -> str | None:
        engine = create_engine(database.url)
        try:
            invitation = await open_invitation(engine=engine, token=found.group(1),
                                               now=utcnow())
            return invitation.staff_id if invitation else None
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == "maria"
    unknown = run("people", "invite", "nadie", env=env)
    assert unknown.returncode == 2 and "no staff member `nadie`" in unknown.stderr
    assert json.loads(run("people", "list", "--json", env=env).stdout) == []


def test_signout_ends_every_session_of_a_person(database: Database) -> None:
    async def sessions() -> None:
        engine = create_engine(database.url)
        try:
            for _ in range(2):
                await open_session(engine=engine, staff_id="maria", address="127.0.0.1",
                                   now=utcnow())
        finally:
            await engine.dispose()

    asyncio.run(sessions())
    ended = run("people", "signout", "maria", env=env_for(database))
    assert ended.returncode == 0 and ended.stdout == "ended 2 session(s) of maria\n"
