"""A citizen's rights over what Guardian keeps of them (GDPR arts. 15 and 17; LOPDGDD):
everything stored about an author, as JSON (access), and its erasure across tables
(messages, their scores and masked text, the notifications that carried them, the
author's sanctions), leaving an audit record that says what was erased but not of whom
in clear (a hash of the author). docs/privacy.md says what is kept, why and how long."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.review.sanctions import sanctions_table
from guardian.storage.audit import audit, audit_table
from guardian.storage.messages import messages_table
from guardian.storage.outbox import notifications_table
from guardian.storage.pages import pages_table
from guardian.types import NotificationStatus

ERASED = "[erased]"


class AuthorError(ValueError):
    """An author is written SOURCE:HANDLE (twitter:@vecina)."""


def parse_author(raw: str) -> tuple[str, str]:
    """("twitter", "vecina") from "twitter:@Vecina"; the handle compared folded, no @."""
    source, sep, handle = raw.strip().partition(":")
    handle = handle.strip().lstrip("@").casefold()
    if not sep or not source or not handle:
        raise AuthorError("write the author as SOURCE:HANDLE, e.g. twitter:@vecina")
    return source.strip(), handle


def author_digest(source: str, handle: str) -> str:
    """How the audit names an erased author: enough to tell two erasures of one author
    apart from two of different ones, not enough to read the handle."""
    return hashlib.sha256(f"{source}:{handle}".encode()).hexdigest()[:16]


def _theirs(source: str, handle: str) -> Any:
    m = messages_table.c
    folded = func.lower(m.author_handle)
    return and_(m.source == source, or_(folded == handle, folded == f"@{handle}"))


async def export_author(*, conn: AsyncConnection, source: str, handle: str
                        ) -> dict[str, Any]:
    """Everything kept about the author: their messages (text, scores, decision), the
    notifications that carried them (to whom, when; not staff's channels), sanctions."""
    m, n, s = messages_table.c, notifications_table.c, sanctions_table.c
    rows = (await conn.execute(select(messages_table).where(_theirs(source, handle))
                               .order_by(m.id))).mappings().all()
    ids = [r["id"] for r in rows]
    sent = (await conn.execute(select(n.message_id, n.recipient, n.kind, n.status, n.sent_at)
                               .where(n.message_id.in_(ids)).order_by(n.id))).all() if ids else []
    sanctions = (await conn.execute(select(sanctions_table).where(
        s.source == source, or_(func.lower(s.handle) == handle,
                                func.lower(s.handle) == f"@{handle}")))).mappings().all()
    return {
        "author": {"source": source, "handle": handle},
        "messages": [{
            "id": r["id"], "external_id": r["external_id"], "text": r["text"],
            "received_at": _iso(r["received_at"]), "url": r["url"],
            "level": r["harassment_level"], "masked_text": r["masked_text"],
            "decision": {k: (r["decision"] or {}).get(k)
                         for k in ("category", "team", "urgency", "level")}
            if r["decision"] else None} for r in rows],
        "notifications": [{"message_id": mid, "recipient": who, "kind": kind,
                           "status": status, "sent_at": _iso(at)}
                          for mid, who, kind, status, at in sent],
        "sanctions": [{"strikes": r["strikes"], "muted_until": _iso(r["muted_until"]),
                       "blocked": r["blocked"]} for r in sanctions],
    }


async def erase_author(*, conn: AsyncConnection, source: str, handle: str, actor: str,
                       now: dt.datetime) -> dict[str, int]:
    """Erase the author's data everywhere; the counts of what was erased (also audited)."""
    m, n, s = messages_table.c, notifications_table.c, sanctions_table.c
    ids = list((await conn.execute(select(m.id).where(_theirs(source, handle)))).scalars())
    digest = author_digest(source, handle)
    erased_messages = erased_notifications = 0
    if ids:
        erased_messages = int((await conn.execute(
            update(messages_table).where(m.id.in_(ids)).values(
                text=ERASED, masked_text=ERASED, author_handle=f"erased:{digest}",
                author_name=None, url=None, mentions=[], in_reply_to=None,
                assessment=None, last_error=None))).rowcount or 0)
        # The decision keeps what it decided, not who wrote it; a page its reason no more.
        for ident, decision in (await conn.execute(select(m.id, m.decision).where(
                m.id.in_(ids), m.decision.is_not(None)))).all():
            kept = dict(decision)
            kept["message"] = {**kept.get("message", {}), "author": f"erased:{digest}"}
            await conn.execute(update(messages_table).where(m.id == ident)
                               .values(decision=kept))
        await conn.execute(update(pages_table).where(pages_table.c.message_id.in_(ids))
                           .values(reason=ERASED))
        # What has not gone out is not sent; what has keeps only its status and times.
        await conn.execute(update(notifications_table).where(
            n.message_id.in_(ids), n.status.in_([NotificationStatus.pending.value,
                                                 NotificationStatus.waiting.value]))
            .values(status=NotificationStatus.cancelled.value, lease_owner=None))
        erased_notifications = int((await conn.execute(
            update(notifications_table).where(n.message_id.in_(ids)).values(
                body=ERASED, payload={}, last_error=None))).rowcount or 0)
    # Moderators' actions on the author stay in the audit log, under the hash.
    await conn.execute(update(audit_table).where(func.lower(audit_table.c.subject).in_(
        [f"author:{source}:{handle}".lower(), f"author:{source}:@{handle}".lower()]))
        .values(subject=f"author:{digest}"))
    erased_sanctions = int((await conn.execute(delete(sanctions_table).where(
        s.source == source, or_(func.lower(s.handle) == handle,
                                func.lower(s.handle) == f"@{handle}")))).rowcount or 0)
    counts = {"messages": erased_messages, "notifications": erased_notifications,
              "sanctions": erased_sanctions}
    await audit(conn=conn, actor=actor, action="privacy.erase",
                subject=f"author:{digest}", details=counts, at=now)
    return counts


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
