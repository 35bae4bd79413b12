"""The background work of a Guardian process: pipeline workers, escalation timers and the
notifier, built the same way for `guardian serve` and `guardian worker`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config import Settings
from guardian.decision_stage import DecisionStage, DutyTimeline, Notifying
from guardian.escalation import Escalator
from guardian.notify.digest import DigestComposer
from guardian.notify.paging import PageNotifier
from guardian.notify.sender import Sender
from guardian.notify.service import Notifier
from guardian.pipeline import StageHandler, Worker, WorkerConfig, default_handlers
from guardian.policy.channels import redact, secret_source
from guardian.policy.model import Policy
from guardian.release import Releaser
from guardian.replies_mqtt import MqttReplies
from guardian.scoring.stage import ScoringStage, ScoringState
from guardian.storage.models import Stage

log = logging.getLogger(__name__)


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(batch_size=settings.worker_batch,
                        gather_seconds=settings.scoring_wait_ms / 1000,
                        poll_seconds=settings.worker_poll_seconds,
                        lease_seconds=settings.lease_seconds,
                        max_attempts=settings.max_attempts)


def pipeline_handlers(scoring: ScoringState, deciding: DecisionStage
                      ) -> dict[Stage, StageHandler]:
    """The stage run on messages in each stage; `decided → notified` passes through (the
    decision stage wrote the notifications; the notifier sends them)."""
    return {**default_handlers(),
            Stage.received: ScoringStage(scoring.assess),
            Stage.scored: deciding}


@dataclass
class Background:
    workers: list[Worker]
    escalator: Escalator
    notifier: Notifier
    replies: MqttReplies | None = None  # acknowledgements replied over MQTT

    async def run(self) -> None:
        if self.replies is not None:
            await self.replies.start()
        await asyncio.gather(*(w.run() for w in self.workers), self.escalator.run(),
                             self.notifier.run())

    async def close(self) -> None:
        """After `run` returned: let in-flight replies finish, then disconnect."""
        if self.replies is not None:
            await self.replies.stop()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.escalator.stop()
        self.notifier.stop()


def build(engine: AsyncEngine, settings: Settings, policy: Callable[[], Policy | None],
          scoring: ScoringState, *, concurrency: int = 1) -> Background:
    timeline = DutyTimeline(engine, policy)
    pages = PageNotifier(policy=policy, secret=settings.secret_key, base_url=settings.base_url)
    # The notifier is built below; the decision stage and the timers wake it once what they
    # queued has committed.
    notifying = Notifying(base_url=settings.base_url, page_hook=pages,
                          wake=lambda: notifier.wake())
    deciding = DecisionStage(engine, timeline, notifying=notifying)
    workers = [Worker(engine, handlers=pipeline_handlers(scoring, deciding),
                      config=worker_config(settings)) for _ in range(concurrency)]
    escalator = Escalator(engine, poll_seconds=settings.worker_poll_seconds, notify=pages,
                          wake=lambda: notifier.wake())

    def current() -> Policy:
        found = policy()
        if found is None:
            raise RuntimeError("the duty policy is not loaded")
        return found

    if settings.deliver_to:
        log.warning("GUARDIAN_DELIVER_TO is set: every notification goes to %s, not to "
                    "people's own channels", redact(settings.deliver_to))
    sender = Sender(engine=engine, policy=current, duty=timeline.availability,
                    redirect=settings.deliver_to or None, environ=secret_source(settings))
    digests = DigestComposer(engine=engine, duty=timeline.availability,
                             base_url=settings.base_url)
    releaser = Releaser(engine, timeline, notifying)
    notifier = Notifier(sender, digests, poll_seconds=settings.worker_poll_seconds,
                        releaser=releaser)
    return Background(workers, escalator, notifier,
                      MqttReplies.from_settings(settings, engine))
