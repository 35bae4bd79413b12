"""What the wellbeing report counts (`guardian.report.wellbeing`), read for a span of
weeks: the contacts, the pages with their events, the decisions on hostile messages, the
moderators' exposure and the overrides in force. The same queries on SQLite and
PostgreSQL; each week of the span is counted by the pure module."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.decide.decision import Decision
from guardian.policy.model import Policy
from guardian.report.wellbeing import (
    CONTACT_KINDS,
    ON_CALL_LOOKBACK_WEEKS,
    Contact,
    DecisionRow,
    ExposureRow,
    PageEventRow,
    PageRow,
    ReportRows,
    Row,
    Week,
    WellbeingReport,
    build,
    shift,
    trend,
)
from guardian.schedule.localtime import zone
from guardian.storage.models import Message, ModeratorExposure, Notification
from guardian.storage.overrides import active_overrides
from guardian.storage.pages import page_events_table, pages_table
from guardian.types import NotificationStatus

log = logging.getLogger(__name__)

notifications_table = Notification.__table__  # type: ignore[attr-defined]
messages_table = Message.__table__  # type: ignore[attr-defined]
exposure_table = ModeratorExposure.__table__  # type: ignore[attr-defined]

# A message is decided within moments of arriving (a backlog may take longer): its
# decision and its notifications are looked for among the messages that arrived this
# long before the span too.
ARRIVAL_MARGIN = dt.timedelta(days=2)
# Notifications queued for a decision ("msg:…", "storm:…") were meant to reach their
# person when the message arrived; the others when they were queued.
_DECIDED_KEYS = ("msg:", "storm:")
# What `guardian.engine.decision_stage.hold_for_storm` writes on what it holds back.
STORM_HOLD = "held: storm"
# Ids per IN (...) list: well under either database's limit on parameters.
_CHUNK = 500


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[n:n + _CHUNK]) for n in range(0, len(ids), _CHUNK)]


async def report_rows(engine: AsyncEngine, *, start: dt.datetime, end: dt.datetime
                      ) -> ReportRows:
    """Every row the report needs for the weeks in [start, end)."""
    async with engine.connect() as conn:
        n, m = notifications_table.c, messages_table.c
        columns = (n.id, n.recipient, n.kind, n.status, n.sent_at, n.created_at,
                   n.idempotency_key, n.message_id, n.last_error)
        kinds = sorted(CONTACT_KINDS)
        # About a message that arrived in the span (or just before)...
        about = (await conn.execute(
            select(*columns, m.received_at).join(messages_table, m.id == n.message_id)
            .where(n.kind.in_(kinds), m.received_at >= start - ARRIVAL_MARGIN,
                   m.received_at < end))).all()
        # ...and whatever was queued in the span (a schedule change, a released message).
        queued = (await conn.execute(
            select(*columns).where(n.kind.in_(kinds), n.created_at >= start - ARRIVAL_MARGIN,
                                   n.created_at < end))).all()
        contacts: dict[int, Contact] = {}
        for row in [*about, *queued]:
            if row.id in contacts:
                continue
            received = getattr(row, "received_at", None)
            asked = (received if received is not None
                     and row.idempotency_key.startswith(_DECIDED_KEYS) else row.created_at)
            contacts[row.id] = Contact(
                id=row.id, recipient=row.recipient, kind=row.kind, status=row.status,
                asked_at=asked, sent_at=row.sent_at, message_id=row.message_id,
                held_by_storm=(row.status == NotificationStatus.cancelled.value
                               and (row.last_error or "").startswith(STORM_HOLD)))

        # Decisions on hostile messages (the only ones shielded, held or in a storm).
        decisions = []
        for row in (await conn.execute(
                select(m.id, m.decision).where(
                    m.harassment_level.in_(["rude", "abusive", "threat"]),
                    m.decision.is_not(None), m.received_at >= start - ARRIVAL_MARGIN,
                    m.received_at < end))).all():
            if not row.decision:
                continue  # scored, not decided yet (a JSON null on some drivers)
            try:
                decisions.append(DecisionRow(int(row.id), Decision.from_json(row.decision)))
            except (KeyError, TypeError, ValueError):
                log.warning("report: message %s has a decision this version cannot read; "
                            "left out", row.id)

        # Pages with an event in the span, with all their events.
        e, p = page_events_table.c, pages_table.c
        page_ids = sorted({int(i) for i in (await conn.execute(
            select(e.page_id).where(and_(e.at >= start, e.at < end)).distinct())).scalars()})
        pages = []
        for chunk in _chunks(page_ids):
            events: dict[int, list[PageEventRow]] = {}
            for row in (await conn.execute(select(e.page_id, e.kind, e.person, e.at)
                                           .where(e.page_id.in_(chunk))
                                           .order_by(e.page_id, e.seq))).all():
                events.setdefault(int(row.page_id), []).append(
                    PageEventRow(row.kind, row.person, row.at))
            for row in (await conn.execute(
                    select(p.id, p.team, p.created_at, p.acked_by, p.acked_at)
                    .where(p.id.in_(chunk)))).all():
                pages.append(PageRow(int(row.id), row.team, row.created_at, row.acked_by,
                                     row.acked_at, tuple(events.get(int(row.id), ()))))

        x = exposure_table.c
        exposure = [ExposureRow(r.moderator, r.day, int(r.views)) for r in (await conn.execute(
            select(x.moderator, x.day, x.views).where(
                x.day >= start.date(), x.day <= end.date()))).all()]
    overrides = await active_overrides(
        engine, start=start - dt.timedelta(weeks=ON_CALL_LOOKBACK_WEEKS), end=end)
    return ReportRows(contacts=tuple(contacts.values()), pages=tuple(pages),
                      decisions=tuple(decisions), exposure=tuple(exposure),
                      overrides=tuple(overrides))


async def wellbeing_report(engine: AsyncEngine, policy: Policy, week: Week,
                           *, trend_weeks: int = 0) -> tuple[WellbeingReport, list[Row]]:
    """The report of `week`, and the town's figures of the `trend_weeks` weeks that end
    with it (oldest first; empty for 0), read in one go."""
    tz = zone(policy.town.timezone)
    weeks = [shift(week, n, tz) for n in range(1 - trend_weeks, 1)] if trend_weeks else []
    rows = await report_rows(engine, start=(weeks[0] if weeks else week).start,
                             end=week.end)
    return build(policy, week, rows), trend(policy, weeks, rows)
