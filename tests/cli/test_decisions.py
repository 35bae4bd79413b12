"""`guardian explain`: why a message went where it went."""

from __future__ import annotations

import asyncio
import subprocess
import time

from tests.commands import GUARDIAN, env_for, run
from tests.conftest import ROOT, Database


def test_explain_tells_why_a_message_went_where_it_went(database: Database) -> None:
    from guardian.storage.db import create_engine
    from guardian.storage.messages import messages_table
    from tests.conftest import message as payload

    env = env_for(database)
    assert run("db", "upgrade", env=env).returncode == 0

    async def prepare() -> None:
        from guardian.schemas import MessageIn
        from guardian.storage.messages import store_messages

        engine = create_engine(database.url)
        async with engine.begin() as conn:
            await store_messages(conn=conn, messages=[MessageIn.model_validate(payload())])
        await engine.dispose()

    asyncio.run(prepare())
    process = subprocess.Popen([*GUARDIAN, "worker"], env=env, cwd=ROOT)

    async def decided() -> bool:
        from sqlalchemy import select

        engine = create_engine(database.url)
        async with engine.connect() as conn:
            value = (await conn.execute(select(messages_table.c.decision))).scalar_one()
        await engine.dispose()
        return value is not None

    try:
        deadline = time.monotonic() + 30
        while not asyncio.run(decided()) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    shown = run("explain", "1", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "scored none by lite" in shown.stdout
    assert "category street_lighting" in shown.stdout or "street_lighting" in shown.stdout
    assert "→" in shown.stdout
    assert run("explain", "99", env=env).returncode == 1


