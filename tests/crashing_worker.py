"""A worker whose scoring stage announces itself and then hangs, for the kill test.

Usage: python -m tests.crashing_worker DATABASE_URL MARKER_FILE
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from guardian.engine.pipeline import StageResult, Worker, WorkerConfig, pass_through
from guardian.storage.db import create_engine
from guardian.storage.models import Message
from guardian.types import Stage


async def main(url: str, marker: Path) -> None:
    async def hang(batch: Sequence[Message]) -> Sequence[StageResult]:
        marker.write_text(",".join(str(m.id) for m in batch))
        await asyncio.sleep(3600)
        return []

    engine = create_engine(url)
    handlers = {Stage.received: hang, Stage.scored: pass_through, Stage.decided: pass_through}
    await Worker(engine, handlers=handlers, config=WorkerConfig(lease_seconds=30)).drain()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
