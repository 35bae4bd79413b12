"""Decisions of the recent past, as storm, duplicate and flood detection read them (the
decision stage's memory, refreshed from the database every batch)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.decide import Recent
from guardian.policy.model import Policy
from guardian.storage.messages import messages_table


def window_for(policy: Policy) -> dt.timedelta:
    return dt.timedelta(minutes=max(policy.storm.window_minutes,
                                    policy.moderation.duplicate_window_minutes, 60))


@dataclass(frozen=True)
class _Seen:
    recent: Recent
    storm_started: str | None  # the target, when this decision set a storm off


class RecentDecisions:
    """Decisions of the last window, as storm, duplicate and flood detection read them.

    Every batch asks the database which messages were decided in the window (any worker
    may have decided them) but decodes only the decisions it has not seen yet.
    """

    def __init__(self) -> None:
        self._seen: dict[int, _Seen] = {}

    async def read(self, conn: AsyncConnection, since: dt.datetime
                   ) -> tuple[list[Recent], set[str]]:
        m = messages_table.c
        window = m.decision.is_not(None), m.received_at >= since - dt.timedelta(hours=1)
        ids = set((await conn.execute(select(m.id).where(*window))).scalars())
        for gone in set(self._seen) - ids:
            del self._seen[gone]
        new = ids - set(self._seen)
        if new:
            rows = (await conn.execute(select(m.id, m.decision, m.harassment_level)
                                       .where(m.id.in_(new)))).all()
            for ident, decision, level in rows:
                storm = decision.get("storm") or {}
                self._seen[ident] = _Seen(
                    Recent(author=decision["message"]["author"], target=decision["target"],
                           level=level or "none",
                           at=dt.datetime.fromisoformat(decision["decided_at"]),
                           fingerprint=decision.get("fingerprint")),
                    storm["target"] if storm.get("first") else None)
        found = [s.recent for s in self._seen.values() if s.recent.at >= since]
        storms = {s.storm_started for s in self._seen.values()
                  if s.storm_started and s.recent.at >= since}
        return found, storms
