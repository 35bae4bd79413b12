"""The pipeline's scoring stage: a batch of received messages in, assessments stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor

from guardian import metrics
from guardian.config.settings import Settings
from guardian.engine.pipeline import StageResult
from guardian.engine.scoring_process import ScoringProcess
from guardian.policy.model import Policy
from guardian.scoring.assessor import Assessment, Assessor, spec_for
from guardian.scoring.select import ScorerStatus, load_model
from guardian.scoring.types import Model
from guardian.storage.models import Message

# Texts and language hints in, one assessment per text out.
Assess = Callable[[Sequence[str], Sequence[str | None]], Awaitable[list[Assessment]]]


def in_executor(assessor: Callable[[], Assessor], executor: Executor | None = None) -> Assess:
    """Assess with `assessor()` (asked for each batch) in `executor`, off the event loop."""
    async def assess(texts: Sequence[str], hints: Sequence[str | None]) -> list[Assessment]:
        return await asyncio.get_running_loop().run_in_executor(
            executor, assessor().assess, texts, hints)
    return assess


class ScoringState:
    """This process's scorer: the model, loaded once, in a thread of this process or in a
    process of its own (`GUARDIAN_SCORING_PROCESS`), and the assessor of the current policy
    (replaced when the policy is reloaded)."""

    def __init__(self, status: ScorerStatus, policy: Policy | None, *,
                 model: Model | None = None, executor: ThreadPoolExecutor | None = None,
                 process: ScoringProcess | None = None) -> None:
        self.status = status
        self._model = model
        self._executor = executor
        self._process = process
        self._version = 0
        self.use_policy(policy)

    @classmethod
    async def start(cls, settings: Settings, policy: Policy | None) -> ScoringState:
        if settings.scoring_process:
            process = ScoringProcess(settings)
            try:
                status = await process.start()
            except BaseException:
                process.close()
                raise
            return cls(status, policy, process=process)
        # One thread: the model is loaded once and runs there, never on the event loop.
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guardian-scoring")
        try:
            model, status = await asyncio.get_running_loop().run_in_executor(
                executor, load_model, settings)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(status, policy, model=model, executor=executor)

    @property
    def process(self) -> ScoringProcess | None:
        return self._process

    def use_policy(self, policy: Policy | None) -> None:
        self._version += 1
        self._spec = spec_for(policy, self._version)
        if self._model is not None:
            self._assessor = self._spec.build(self._model, self.status.attributor)

    async def assess(self, texts: Sequence[str], hints: Sequence[str | None]
                     ) -> list[Assessment]:
        if self._process is not None:
            return await self._process.assess(self._spec, texts, hints)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._assessor.assess, texts, hints)

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


class ScoringStage:
    """Assesses a batch in one model call, off the event loop (`assess`: a thread, or the
    scoring process).

    A failure (model error, out of memory, a scoring process that died) fails the whole
    batch: the worker retries it with back-off, and the messages stay queued, never lost.
    """

    def __init__(self, assess: Assess) -> None:
        self._assess = assess

    async def __call__(self, batch: Sequence[Message]) -> Sequence[StageResult]:
        assessments = await self._assess([m.text for m in batch], [m.lang for m in batch])
        results = []
        for message, assessment in zip(batch, assessments, strict=True):
            metrics.SCORED.labels(level=assessment.level, scorer=assessment.scorer.name).inc()
            # Written for the whole batch in one statement by the pipeline.
            results.append(StageResult(message_id=message.id or 0, values={
                "assessment": assessment.as_json(), "harassment_level": assessment.level,
                "masked_text": assessment.masked_text}))
        return results
