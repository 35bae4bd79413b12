"""Replies to citizens: queued in the outbox (so they are retried like any notification,
and sent once), written from the policy's `replies` templates.

The acknowledgement is queued by the decision stage when a request is received; a word
on each later status by whoever moves the request (guardian/web/requests.py). Nothing is
queued for a message that was held or shielded, for a network Guardian cannot answer on,
or beyond `per_author_per_hour` replies to one author (a citizen who writes ten times
hears back once).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.connectors.replies import connector_for
from guardian.decide.lifecycle import may_answer
from guardian.engine.privacy import author_digest
from guardian.notify.sender import CITIZEN_PREFIX
from guardian.policy.model import Policy
from guardian.storage import outbox
from guardian.storage.models import Message
from guardian.types import NotificationKind, NotificationStatus, RequestStatus

_WEEKDAYS = {"es": ("el lunes", "el martes", "el miércoles", "el jueves", "el viernes",
                    "el sábado", "el domingo"),
             "en": ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday",
                    "on Saturday", "on Sunday")}


def citizen_recipient(source: str, handle: str) -> str:
    """The outbox's recipient for a citizen: a digest of the author, never the handle."""
    return f"{CITIZEN_PREFIX}{author_digest(source, handle.lower())}"


def _when(decision: dict[str, Any], tz: ZoneInfo, lang: str, now: dt.datetime) -> str:
    """When staff will see it, as the citizen reads it: "ahora", or "a partir de las
    08:00" (today) or "el lunes a partir de las 08:00"."""
    times = []
    for outcome in decision.get("outcomes") or []:
        if outcome.get("kind") in ("deliver_now", "defer", "page", "shield") and outcome.get("at"):
            times.append(dt.datetime.fromisoformat(str(outcome["at"])))
    first = min(times, default=now)
    if first <= now + dt.timedelta(minutes=5):
        return "ahora" if lang == "es" else "now"
    local, today = first.astimezone(tz), now.astimezone(tz).date()
    clock = local.strftime("%H:%M")
    if lang == "es":
        day = "" if local.date() == today else f"{_WEEKDAYS['es'][local.weekday()]} "
        return f"{day}a partir de las {clock}"
    day = "" if local.date() == today else f"{_WEEKDAYS['en'][local.weekday()]} "
    return f"{day}from {clock}"


def team_name(name: str, lang: str) -> str:
    """A team named `Alumbrado público (street lighting)` is "Alumbrado público" in
    Spanish and "street lighting" in English; other names stay as they are."""
    found = re.fullmatch(r"\s*(.+?)\s*\((.+)\)\s*", name)
    if found is None:
        return name
    return found.group(2) if lang == "en" else found.group(1)


def reply_text(policy: Policy, message: Message, status: RequestStatus,
               now: dt.datetime) -> tuple[str, str] | None:
    """(language, text) of the reply for `status`, or None when there is no template."""
    templates = policy.replies.templates.get(status.value)
    if not templates:
        return None
    wanted = (message.lang or "")[:2].lower()
    lang = wanted if wanted in templates else ("es" if "es" in templates else next(iter(templates)))
    decision = message.decision or {}
    team = policy.team_index.get(str(decision.get("team")))
    category = next((c for c in policy.categories if c.id == decision.get("category")), None)
    text = templates[lang].format(
        team=team_name(team.name, lang) if team is not None else "",
        category=(category.id.replace("_", " ") if category is not None else ""),
        when=_when(decision, ZoneInfo(policy.town.timezone), lang, now))
    return lang, text


async def _recent_acknowledgements(conn: AsyncConnection, recipient: str,
                                   now: dt.datetime) -> int:
    """Acknowledgements queued for this author in the last hour: a citizen who writes ten
    times hears "received" once. Word of a fix is never held back by this."""
    c = outbox.notifications_table.c
    found = (await conn.execute(select(func.count()).where(
        c.recipient == recipient, c.kind == NotificationKind.citizen_reply.value,
        c.idempotency_key.like(f"%:{RequestStatus.received.value}"),
        c.due_at > now - dt.timedelta(hours=1),
        c.status != NotificationStatus.cancelled.value))).scalar()
    return int(found or 0)


async def queue_reply(*, conn: AsyncConnection, policy: Policy | None, message: Message,
                      status: RequestStatus, now: dt.datetime) -> bool:
    """Queue the reply for `status` if the policy has one and the request may be answered;
    whether one was queued."""
    if policy is None or not policy.replies.enabled or message.id is None:
        return False
    replies = policy.replies
    decision = message.decision or {}
    if not may_answer(decision):
        return False
    if replies.categories and decision.get("category") not in replies.categories:
        return False
    if connector_for(policy, message.source) is None:
        return False
    recipient = citizen_recipient(message.source, message.author_handle)
    key = f"reply:{message.id}:{status.value}"
    existing = await outbox.get_by_key(conn=conn, idempotency_key=key)
    if existing is not None:
        return False
    if (status == RequestStatus.received and await _recent_acknowledgements(
            conn, recipient, now) >= replies.per_author_per_hour):
        return False
    written = reply_text(policy, message, status, now)
    if written is None:
        return False
    lang, text = written
    await outbox.enqueue(conn=conn, recipient=recipient, kind=NotificationKind.citizen_reply,
                         body=text, due_at=now, idempotency_key=key, message_id=message.id,
                         lang=lang)
    return True
