"""Fixtures of the engine's tests: the example town (tests/engine/town.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.scoring.lite import LiteModel
from tests.engine.town import PEOPLE, Clock, Town, madrid
from tests.notify.test_sender import policy_with
from tests.receivers import JsonReceiver


@pytest.fixture(scope="module")
def lite() -> LiteModel:
    return LiteModel()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown()


@pytest.fixture
async def town(engine: AsyncEngine, lite: LiteModel, executor: ThreadPoolExecutor
               ) -> AsyncIterator[Town]:
    receiver = await JsonReceiver().start()
    policy = policy_with({p: [receiver.url(p)] for p in PEOPLE})
    yield Town(engine, policy, receiver, Clock(madrid(11, 25, 10)), executor, lite)
    await receiver.close()
