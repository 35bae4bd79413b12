"""The pipeline's decision stage (`scored` → `decided`): the pure engine, fed from the
database, its decision stored with the message together with what it sets in motion
(review items, pages) in the stage's completing transaction."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guardian import metrics
from guardian.decide import (
    Context,
    Decision,
    Judged,
    OpenPage,
    Recent,
    author_key,
    classify,
    decide,
)
from guardian.decide.decision import PUSH_CHANNELS
from guardian.decide.inputs import HOSTILE
from guardian.engine.citizen_replies import queue_reply
from guardian.engine.memory import DecisionMemory, window_for
from guardian.engine.pipeline import Batched, StageResult
from guardian.engine.timeline import DutyTimeline
from guardian.notify import queue
from guardian.notify.compose import FlagUrl, MessageView, for_decision
from guardian.policy.model import Policy
from guardian.review.queue import NewReview, enqueue_reviews
from guardian.review.sanctions import author_statuses
from guardian.storage import outbox
from guardian.storage.db import utcnow
from guardian.storage.models import Message
from guardian.storage.outbox import sent_counts
from guardian.storage.pages import PageHook, Step, open_page, open_pages
from guardian.types import RequestStatus

# A page without an escalation chain waits this long for an acknowledgement.
LONE_PAGE_MINUTES = 30


@dataclass(frozen=True)
class Notifying:
    """What the stage needs to queue notifications: where links point, how a page event
    becomes a notification (`guardian.notify.paging.PageNotifier`), and how each
    recipient's link to flag the message is signed (`guardian.acks.links.FlagLinks`)."""

    base_url: str
    page_hook: PageHook | None = None
    # Called once a decision that sends something now has committed: the notifier in this
    # process looks at once instead of at its next poll (pages reach people sooner).
    wake: Callable[[], None] | None = None
    flag_links: FlagUrl | None = None


async def _carry_out(message: MessageView, decision: Decision, page_reason: str,
                     now: dt.datetime, policy: Policy, notifying: Notifying | None,
                     storm_ids: Sequence[int], answer: Message | None,
                     conn: AsyncConnection) -> None:
    """Start what the decision asks for, in the stage's transaction (the decision itself
    and its review items are written with the batch's other rows, `StageResult.values` and
    `StageResult.batched`): pages (with their first notification) and the outbox rows of every
    push and digest outcome, so a crash commits all of it or none."""
    await notify_staff(conn, message, decision, page_reason, now, policy, notifying)
    if answer is not None:  # the citizen's acknowledgement, when the policy has one
        await queue_reply(conn=conn, policy=policy, message=answer,
                          status=RequestStatus.received, now=now)
    if storm_ids:
        await hold_for_storm(conn, decision, storm_ids)
    for kind in decision.kinds:
        metrics.DECISIONS.labels(kind=kind).inc()


async def hold_for_storm(conn: AsyncConnection, decision: Decision,
                         message_ids: Sequence[int]) -> None:
    """The storm has just started: what staff have not been told yet of the storm's
    earlier messages (`message_ids`, its hostile messages of the window) is held back,
    and each such message is in the moderators' queue."""
    storm = decision.storm
    assert storm is not None
    held = await outbox.hold_for_storm(
        conn=conn, message_ids=message_ids,
        reason=f"held: storm on {storm.target} (the moderators have the message)")
    target = storm.target.partition(":")[2] or None
    await enqueue_reviews(conn, [NewReview(message_id, "storm", level, None, target)
                                 for message_id, level in held])


async def notify_staff(conn: AsyncConnection, message: MessageView, decision: Decision,
                       page_reason: str, now: dt.datetime, policy: Policy,
                       notifying: Notifying | None, *, key_prefix: str = "msg") -> None:
    """Open the decision's pages (each with its first notification) and queue the outbox
    rows of its push and digest outcomes (also used when a dismissed message is released)."""
    message_id = message.id
    for outcome in decision.of_kind("page"):
        if outcome.bundle_with is not None:
            continue
        steps = ([Step(person, minutes) for person, minutes in
                  outcome.escalation.page_steps()] if outcome.escalation else
                 # No chain (no team owns the category): the last resort alone, who still
                 # acknowledges.
                 [Step(person, LONE_PAGE_MINUTES) for person in outcome.recipients])
        if steps:
            page, event = await open_page(
                conn=conn, team=(outcome.escalation.team if outcome.escalation else None)
                or decision.team or "", reason=page_reason, plan=steps,
                last_resort=outcome.escalation.last_resort if outcome.escalation else None,
                now=now, message_id=message_id, category=decision.category)
            if notifying is not None and notifying.page_hook is not None:
                await notifying.page_hook(conn, page, event, now)
    if notifying is not None:
        for planned in for_decision(decision, message, policy, now, notifying.base_url,
                                    key_prefix=key_prefix, flag_url=notifying.flag_links):
            await queue.put(conn=conn, planned=planned, message_id=message_id)


class DecisionStage:
    """Decides a batch in order, each decision seeing the ones before it (a pile-on may
    arrive in one batch)."""

    def __init__(self, engine: AsyncEngine, timeline: DutyTimeline,
                 clock: Callable[[], dt.datetime] = utcnow,
                 notifying: Notifying | None = None) -> None:
        self._engine = engine
        self._notifying = notifying
        self._timeline = timeline
        self._clock = clock
        self.memory = DecisionMemory()

    async def __call__(self, batch: Sequence[Message]) -> Sequence[StageResult]:
        now = self._clock()
        built = await self._timeline.get(now)
        if built is None:
            # No policy at all: wait (retried with back-off) rather than decide blind.
            return [StageResult(message_id=m.id or 0, error="the duty policy is not loaded",
                                wait=True) for m in batch]
        policy = built.policy
        async with self._engine.connect() as conn:
            statuses = await author_statuses(
                conn=conn, authors=[(m.source, m.author_handle) for m in batch])
            await self.memory.read(conn, now - window_for(policy))
            pages = [OpenPage(id=str(p.id), team=p.team, category=p.category or "",
                              opened_at=p.created_at) for p in await open_pages(conn=conn)]
            sent = await sent_counts(conn=conn,
                                     since=now - dt.timedelta(hours=1))
        storm_targets = self.memory.storm_targets(
            now - dt.timedelta(minutes=policy.storm.window_minutes))
        # The batch's own decisions, by target and by author: the memory learns them from
        # the database once they have committed.
        by_target: dict[str, list[Recent]] = defaultdict(list)
        batch_ids: dict[str, list[int]] = defaultdict(list)  # hostile ones, by target
        by_author: dict[str, list[Recent]] = defaultdict(list)
        outcomes = []
        for message in batch:
            judged = Judged.from_stored(message.assessment or {}, message.masked_text,
                                        message.text)
            where = classify(message, judged, policy)
            author = author_key(message.source, message.author_handle)
            status = statuses[(message.source, message.author_handle)]
            context = Context(
                author_strikes=status.strikes, muted_until=status.muted_until,
                blocked=status.blocked,
                recent=(*self.memory.of_author(author), *by_author.get(author, ())),
                storm_count=self.memory.storm_count(where.target, author, now,
                                                     policy.storm.window_minutes,
                                                     by_target.get(where.target, ())),
                early_count=self.memory.early_count(where.target, author, now,
                                                     policy.storm.early_window_minutes,
                                                     by_target.get(where.target, ())),
                sent_last_hour=sent,
                open_pages=tuple(pages), open_storms=frozenset(storm_targets),
                overrides=built.overrides)
            decision = decide(message, judged, context, policy, now, built.timeline)
            # Later messages of the batch see this one's notifications in the hourly count.
            for outcome in decision.outcomes:
                if outcome.channel == "preferred" and not outcome.emergency:
                    for person in outcome.recipients:
                        sent[person] = sent.get(person, 0) + 1
            this = Recent(author=author, target=decision.target, level=judged.level, at=now,
                          fingerprint=decision.fingerprint)
            by_target[this.target].append(this)
            storm_ids: list[int] = []
            if decision.storm is not None and decision.storm.first:
                since = now - dt.timedelta(minutes=max(decision.storm.window_minutes,
                                                       policy.storm.window_minutes))
                storm_ids = [*self.memory.messages_at(decision.target, since, HOSTILE),
                             *batch_ids[decision.target]]
            if judged.level in HOSTILE:
                batch_ids[decision.target].append(message.id or 0)
            by_author[this.author].append(this)
            if decision.storm is not None and decision.storm.first:
                storm_targets.add(decision.storm.target)
            for page in decision.of_kind("page"):
                if page.bundle_with is None and page.escalation is not None:
                    pages.append(OpenPage(id=f"pending-{message.id}", team=decision.team or "",
                                          category=decision.category, opened_at=now))
            reason = f"{decision.category} ({decision.urgency}): {judged.masked_text[:300]}"
            view = MessageView.of(message, judged.masked_text)
            sends_now = any(o.channel in PUSH_CHANNELS and o.recipients
                            for o in decision.outcomes)
            wake = self._notifying.wake if self._notifying is not None and sends_now else None
            target = decision.target.partition(":")[2] or None
            reviews = [Batched(enqueue_reviews, NewReview(
                message.id or 0, o.code, decision.level, decision.category, target))
                for o in decision.outcomes if o.channel == "review_queue"]
            decided = decision.to_json()
            answer = (message.model_copy(update={"decision": decided})
                      if policy.replies.enabled else None)
            outcomes.append(StageResult(message_id=message.id or 0, write=partial(
                _carry_out, view, decision, reason, now, policy, self._notifying, storm_ids,
                answer), values={"decision": decided}, batched=reviews, after_commit=wake))
        return outcomes
