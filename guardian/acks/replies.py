"""Acknowledging a page by replying on the channel it came on.

A page notification carries a reply code for the person it went to (`ACK 12-4f9a2b7c`,
`guardian.acks.links.reply_code`). Whatever brings the reply back (an SMS gateway's webhook, a
chat bridge, an MQTT topic) hands its text to `acknowledge_reply`, which finds the code,
checks it against everyone the page has gone to so far and acknowledges as
`reply:<person>`. The answer is one sentence for whoever replied; a code that does not
match says the same whether or not the page exists.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.acks.links import parse_reply, reply_matches
from guardian.storage.audit import audit, audit_table
from guardian.storage.pages import acknowledge, get_page, page_events
from guardian.types import PageStatus

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 1000
# The events that sent the page to someone, whose code may acknowledge it.
PAGED_KINDS = frozenset({"paged", "escalated", "last_resort"})
# Checked when the page does not exist, so that a wrong code costs the same either way.
_NOBODY = "\x00nobody"


class ReplyOutcome(StrEnum):
    acknowledged = "acknowledged"
    already_acknowledged = "already_acknowledged"  # someone acknowledged it before
    closed = "closed"                              # the chain ran out (page exhausted)
    no_code = "no_code"
    invalid_code = "invalid_code"
    too_many = "too_many"       # too many wrong codes for this page lately


@dataclass(frozen=True)
class ReplyResult:
    outcome: ReplyOutcome
    message: str                # one sentence for the person who replied
    page_id: int | None = None  # only once the code has been verified
    person: str | None = None   # whose code it was

    @property
    def ok(self) -> bool:
        """The code was valid (acknowledged now, or the page was no longer open)."""
        return self.outcome not in (ReplyOutcome.no_code, ReplyOutcome.invalid_code,
                                    ReplyOutcome.too_many)


NO_CODE_MESSAGE = ("No acknowledgement code was found in the reply; send the code from the "
                   "page, for example ACK 12-4f9a2b7c.")
TOO_LONG_MESSAGE = (f"The reply is longer than {MAX_REPLY_CHARS} characters; send just the "
                    "code from the page, for example ACK 12-4f9a2b7c.")
# Wrong codes taken for one page within the window; then every reply code for it is
# refused until the window has passed (the page's link still works). A code is 32 bits:
# ten guesses an hour make a guess succeed once in some 50,000 years.
MAX_WRONG_CODES = 10
WRONG_CODES_WINDOW = dt.timedelta(hours=1)
TOO_MANY_MESSAGE = ("Too many wrong codes were sent for this page in the last hour; "
                    "acknowledge with the page's link.")
INVALID_MESSAGE = ("That acknowledgement code is not valid; check it against the page, or "
                   "acknowledge with the page's link.")


def _not_open(page_id: int, person: str, status: str, acked_by: str | None) -> ReplyResult:
    if status == PageStatus.acknowledged.value:
        by = f" by {acked_by}" if acked_by else ""
        return ReplyResult(ReplyOutcome.already_acknowledged,
                           f"Page {page_id} was already acknowledged{by}; nothing more to do.",
                           page_id, person)
    return ReplyResult(ReplyOutcome.closed,
                       f"Page {page_id} is already closed: its escalation ran out and the "
                       "last-resort contact was told.", page_id, person)


async def acknowledge_reply(*, engine: AsyncEngine, secret: str, text: str, channel: str,
                            sender: str | None, now: dt.datetime) -> ReplyResult:
    """Acknowledge the page whose reply code `text` carries, as `reply:<person>`.

    `channel` and `sender` (a phone number, a chat handle, an MQTT topic) are only logged:
    the code is the credential. Never raises for anything in `text`.
    """
    if len(text) > MAX_REPLY_CHARS:
        return ReplyResult(ReplyOutcome.no_code, TOO_LONG_MESSAGE)
    parsed = parse_reply(text)
    if parsed is None:
        log.info("reply on %s without a code", channel)
        return ReplyResult(ReplyOutcome.no_code, NO_CODE_MESSAGE)
    page_id, mac = parsed
    async with engine.begin() as conn:
        wrong = (await conn.execute(select(func.count()).select_from(audit_table).where(
            audit_table.c.subject == f"page:{page_id}",
            audit_table.c.action == "reply.wrong_code",
            audit_table.c.at >= now - WRONG_CODES_WINDOW))).scalar_one()
        if wrong >= MAX_WRONG_CODES:
            log.warning("reply on %s from %s: page %s has had %d wrong codes within %s: "
                        "refused", channel, sender or "(unknown)", page_id, wrong,
                        WRONG_CODES_WINDOW)
            return ReplyResult(ReplyOutcome.too_many, TOO_MANY_MESSAGE)
        page = await get_page(conn=conn, page_id=page_id)
        # The same work whether or not the page exists (none of its events, then).
        paged = [e.person for e in await page_events(conn=conn, page_id=page_id)
                 if e.kind in PAGED_KINDS and e.person]
        # Every candidate is checked (no early exit), in constant time each.
        matches = [p for p in dict.fromkeys(paged or [_NOBODY])
                   if reply_matches(secret, page_id, p, mac)]
        if page is None or not matches:
            log.warning("reply on %s from %s: code for page %s does not match", channel,
                        sender or "(unknown)", page_id)
            await audit(conn=conn, actor=f"reply:{channel}", action="reply.wrong_code",
                        subject=f"page:{page_id}", details={"channel": channel}, at=now)
            return ReplyResult(ReplyOutcome.invalid_code, INVALID_MESSAGE)
        person = matches[0]
        if page.status != PageStatus.open.value:
            return _not_open(page_id, person, page.status, page.acked_by)
        acked = await acknowledge(conn=conn, page_id=page_id, actor=f"reply:{person}", now=now)
        if acked is None:  # acknowledged or exhausted meanwhile
            latest = await get_page(conn=conn, page_id=page_id)
            status = latest.status if latest else PageStatus.acknowledged.value
            return _not_open(page_id, person, status, latest.acked_by if latest else None)
    log.warning("page %s: acknowledged by reply:%s on %s", page_id, person, channel)
    return ReplyResult(ReplyOutcome.acknowledged,
                       f"Page {page_id} acknowledged; escalation stopped. Thank you.",
                       page_id, person)
