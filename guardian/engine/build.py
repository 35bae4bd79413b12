"""The engine of a Guardian process: every background job in a loop of its own, built the
same way for `guardian serve` and `guardian worker`.

| job               | what a round does                                              |
|-------------------|----------------------------------------------------------------|
| `pipeline`        | claims a batch of messages and carries it through the stages   |
| `decision-memory` | reads what other workers decided, forgets what left the window |
| `escalation`      | moves pages whose time has come one step on                    |
| `dismissed`       | delivers to staff the messages moderators dismissed            |
| `digests`         | composes the digests that are due                              |
| `sender`          | sends a batch of due notifications through apprise             |
| `mqtt-replies`    | acknowledges the pages replied to on MQTT (when configured)    |
| `retention`       | replaces citizens' data past the policy's `retention`, hourly  |
| `connectors`      | fetches the policy's polled feeds (one process per connector)  |
| `backlog`         | tells the admins when the pipeline falls behind, hourly at most |
| `report-summary`  | sends HR the wellbeing report's summary, once a week           |
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import FlagLinks
from guardian.acks.mqtt import MqttReplies
from guardian.config.secrets import secret_source
from guardian.config.settings import Settings
from guardian.connectors.replies import CitizenReplier
from guardian.engine.backlog import BacklogWatch
from guardian.engine.connectors import Connectors
from guardian.engine.decision_stage import DecisionStage, Notifying
from guardian.engine.dismissed import DismissedDelivery
from guardian.engine.escalation import Escalator
from guardian.engine.loop import Loop, LoopConfig
from guardian.engine.memory import MemoryRefresh
from guardian.engine.notifier import Notifier
from guardian.engine.pipeline import StageHandler, Worker, WorkerConfig, default_handlers
from guardian.engine.report_summary import WeeklySummary
from guardian.engine.retention import Retention
from guardian.engine.scoring_stage import ScoringStage, ScoringState
from guardian.engine.timeline import DutyTimeline
from guardian.engine.triage import Triage
from guardian.notify.digest import DigestComposer
from guardian.notify.paging import PageNotifier
from guardian.notify.sender import Sender
from guardian.policy.model import Policy
from guardian.policy.urls import redact
from guardian.storage.db import utcnow
from guardian.types import Stage

log = logging.getLogger(__name__)

# The decision stage reads its memory before every batch; between batches its own job
# reads this often (so an idle stage's memory still ages and stays current).
MEMORY_POLL_SECONDS = 5.0
RETENTION_POLL_SECONDS = 3600.0
BACKLOG_POLL_SECONDS = 60.0


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(batch_size=settings.worker_batch, lease_seconds=settings.lease_seconds,
                        max_attempts=settings.max_attempts)


def pipeline_handlers(scoring: ScoringState, deciding: DecisionStage
                      ) -> dict[Stage, StageHandler]:
    """The stage run on messages in each stage; `decided → notified` passes through (the
    decision stage wrote the notifications; the notifier sends them)."""
    return {**default_handlers(),
            Stage.received: ScoringStage(scoring.assess),
            Stage.scored: deciding}


@dataclasses.dataclass
class Engine:
    """The loops of one process. `pipeline[0]` is what ingest wakes in this process."""

    pipeline: list[Loop]
    notifier: Notifier
    others: list[Loop]

    @property
    def loops(self) -> list[Loop]:
        return [*self.pipeline, *self.others, *self.notifier.loops]

    async def run(self) -> None:
        """Until `stop()`; every job's resources are handed back on the way out."""
        await asyncio.gather(*(loop.run() for loop in self.loops))

    def stop(self) -> None:
        for loop in self.loops:
            loop.stop()


def build(engine: AsyncEngine, settings: Settings, policy: Callable[[], Policy | None],
          scoring: ScoringState, *, concurrency: int = 1,
          clock: Callable[[], dt.datetime] = utcnow) -> Engine:
    poll = LoopConfig(poll_seconds=settings.worker_poll_seconds)
    timeline = DutyTimeline(engine, policy)
    pages = PageNotifier(policy=policy, secret=settings.secret_key, base_url=settings.base_url)
    # Every notification about a message carries its person's link to flag it as abusive.
    flags = FlagLinks(secret=settings.secret_key, base_url=settings.base_url)
    # The notifier is built below; the decision stage and the timers wake it once what they
    # queued has committed.
    notifying = Notifying(base_url=settings.base_url, page_hook=pages,
                          wake=lambda: notifier.wake(), flag_links=flags)
    deciding = DecisionStage(engine, timeline, notifying=notifying, clock=clock)
    pipeline = [Loop(Worker(engine, handlers=pipeline_handlers(scoring, deciding),
                            config=worker_config(settings), clock=clock),
                     dataclasses.replace(poll, gather_seconds=settings.scoring_wait_ms / 1000))
                for _ in range(concurrency)]
    others = [
        Loop(MemoryRefresh(engine, deciding.memory, policy, clock=clock),
             LoopConfig(poll_seconds=max(MEMORY_POLL_SECONDS, settings.worker_poll_seconds))),
        Loop(Escalator(engine, notify=pages, wake=lambda: notifier.wake(), clock=clock), poll),
        # Hourly: citizens' data past the policy's `retention` (docs/privacy.md).
        Loop(Retention(engine, policy, clock=clock),
             LoopConfig(poll_seconds=max(RETENTION_POLL_SECONDS,
                                         settings.worker_poll_seconds))),
    ]

    def current() -> Policy:
        found = policy()
        if found is None:
            raise RuntimeError("the duty policy is not loaded")
        return found

    if settings.deliver_to:
        log.warning("GUARDIAN_DELIVER_TO is set: every notification goes to %s, not to "
                    "people's own channels", redact(settings.deliver_to))
    sender = Sender(engine=engine, policy=current, duty=timeline.availability,
                    redirect=settings.deliver_to or None, environ=secret_source(settings),
                    clock=clock,
                    replier=CitizenReplier(engine, policy, secret_source(settings)))
    digests = DigestComposer(engine=engine, duty=timeline.availability,
                             base_url=settings.base_url, flag_links=flags, clock=clock)
    notifier = Notifier(sender, digests, poll_seconds=settings.worker_poll_seconds,
                        dismissed=DismissedDelivery(engine, timeline, notifying, clock=clock))
    # The public feeds of the policy's `connectors` (docs/connectors.md).
    others.append(Loop(Connectors(engine, policy, environ=secret_source(settings),
                                  wake_pipeline=lambda: pipeline[0].wake(),
                                  max_text=settings.max_text_chars, clock=clock,
                                  triage=Triage(policy, timeline.availability)), poll))
    # The pipeline falling behind: the admins are told (policy `queue`).
    others.append(Loop(BacklogWatch(engine, policy, wake=lambda: notifier.wake(), clock=clock),
                       LoopConfig(poll_seconds=max(BACKLOG_POLL_SECONDS,
                                                   settings.worker_poll_seconds))))
    # Monday morning, the week before summed up for HR (docs/report.md).
    others.append(Loop(WeeklySummary(engine, policy, settings.base_url,
                                     wake=lambda: notifier.wake(), clock=clock),
                       LoopConfig(poll_seconds=max(BACKLOG_POLL_SECONDS,
                                                   settings.worker_poll_seconds))))
    replies = MqttReplies.from_settings(settings, engine)
    if replies is not None:
        others.append(Loop(replies, poll))
    return Engine(pipeline, notifier, others)
