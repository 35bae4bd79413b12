"""Scoring in a process of its own (`GUARDIAN_SCORING_PROCESS=true`).

The lite scorer is Python code that holds the GIL while it runs, so in the thread of a busy
process it competes with ingest and the other stages for one core. In a child process it
runs on another core. The child loads the model once; every batch carries what the
assessor needs from the policy (`AssessorSpec`, a few kilobytes), and the child keeps the
assessor built from the latest one. A child that dies fails the batch it was scoring (the
worker retries it, nothing is lost) and is started again for the next one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from guardian.config.settings import Settings
from guardian.engine.startup import freeze_startup_objects
from guardian.scoring.assessor import Assessment, Assessor, AssessorSpec
from guardian.scoring.select import ScorerStatus, load_model
from guardian.scoring.types import Model

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- the child

class _Child:
    """What the child keeps between batches."""

    model: Model | None = None
    status: ScorerStatus | None = None
    assessor: tuple[int, Assessor] | None = None


def _child_logging(level: str) -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s scoring process %(name)s: %(message)s")


def _loaded(settings: Settings) -> tuple[Model, ScorerStatus]:
    if _Child.model is None or _Child.status is None:
        _Child.model, _Child.status = load_model(settings)
        freeze_startup_objects()
    return _Child.model, _Child.status


def _start(settings: Settings) -> ScorerStatus:
    # The attributor model stays in the child: the parent only reports the status.
    return replace(_loaded(settings)[1], attributor=None)


def _assess(settings: Settings, spec: AssessorSpec, texts: Sequence[str],
            hints: Sequence[str | None]) -> list[Assessment]:
    # A child started again after one died loads its model on its first batch.
    model, status = _loaded(settings)
    if _Child.assessor is None or _Child.assessor[0] != spec.version:
        _Child.assessor = (spec.version, spec.build(model, status.attributor))
    return _Child.assessor[1].assess(texts, hints)


# ---------------------------------------------------------------------------- the parent

class ScoringProcess:
    """The child process that scores, seen from the parent."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: ProcessPoolExecutor | None = None

    def _start_pool(self) -> ProcessPoolExecutor:
        # `spawn`: the parent runs an event loop and threads, which a fork would copy.
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_logging, initargs=(self._settings.log_level,))
        return self._pool

    async def start(self) -> ScorerStatus:
        """Start the child and load the model there; the model's status."""
        pool = self._start_pool()
        return await asyncio.get_running_loop().run_in_executor(
            pool, _start, self._settings)

    async def assess(self, spec: AssessorSpec, texts: Sequence[str],
                     hints: Sequence[str | None]) -> list[Assessment]:
        pool = self._pool or self._start_pool()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, _assess, self._settings, spec,
                                              list(texts), list(hints))
        except BrokenProcessPool:
            # The child died (killed, out of memory): this batch fails and is retried;
            # the next call starts a new child.
            log.error("the scoring process died; starting another for the next batch")
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise

    def pid(self) -> int | None:
        """The child's process id (for tests and diagnosis)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return next(iter(processes), None)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
