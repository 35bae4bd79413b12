"""The pipeline's scoring stage: a batch of received messages in, assessments stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from guardian import metrics
from guardian.pipeline import Outcome
from guardian.policy.harassment import HarassmentPolicy
from guardian.policy.model import Policy
from guardian.scoring.engine import Assessor
from guardian.scoring.types import Model
from guardian.storage.models import Message


@dataclass
class ScoringState:
    """The loaded model (once per process), its executor, and the assessor of the current
    policy (replaced when the policy is reloaded)."""

    model: Model
    executor: Executor
    assessor: Assessor
    attributor: Model | None = None

    def use_policy(self, policy: Policy) -> None:
        self.assessor = assessor_for(self.model, policy, self.attributor)


def protected_names(policy: Policy | None) -> list[str]:
    """Staff names and handles as they appear in normalised text."""
    if policy is None:
        return []
    names: list[str] = []
    for member in policy.staff:
        names.append(member.name.casefold())
        names.extend(h.casefold().lstrip("@").split("@")[0] for h in member.handles.values())
    return [n for n in names if len(n) >= 3]


def assessor_for(model: Model, policy: Policy | None, attributor: Model | None = None
                 ) -> Assessor:
    harassment = policy.harassment if policy is not None else HarassmentPolicy()
    languages = tuple(policy.town.languages) if policy is not None else ("es", "en")
    return Assessor(model=model, policy=harassment, languages=languages,
                    protected=protected_names(policy), attributor=attributor)


class ScoringStage:
    """Assesses a batch in one model call, in `executor`, so the event loop never blocks.

    `assessor` is called for each batch, so a reloaded policy takes effect at the next one.
    A failure (model error, out of memory) fails the whole batch: the worker retries it
    with back-off, and the messages stay queued, never lost.
    """

    def __init__(self, assessor: Callable[[], Assessor], executor: Executor | None = None
                 ) -> None:
        self._assessor = assessor
        self._executor = executor

    async def __call__(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        assessor = self._assessor()
        texts = [m.text for m in batch]
        hints = [m.lang for m in batch]
        loop = asyncio.get_running_loop()
        assessments = await loop.run_in_executor(self._executor, assessor.assess, texts, hints)
        outcomes = []
        for message, assessment in zip(batch, assessments, strict=True):
            metrics.SCORED.labels(level=assessment.level, scorer=assessment.scorer.name).inc()
            # Written for the whole batch in one statement by the pipeline.
            outcomes.append(Outcome(message_id=message.id or 0, values={
                "assessment": assessment.as_json(), "harassment_level": assessment.level,
                "masked_text": assessment.masked_text}))
        return outcomes
