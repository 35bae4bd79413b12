"""A moderator's `escalate` acts: the people it names are told, in the transaction that
records the decision.

- To HR: each of the policy's `moderation.hr` (the last-resort contact when it names
  none) gets a notice with the masked text, the moderator's note and the message's link,
  now or, in their quiet hours or off duty, in their next digest (the notifier's
  send-time rules).
- To a team (the police: the team owning the `police` category): a threat is paged to
  the team's on-call people with the team's escalation chain, as an emergency would be
  (a threat of violence cannot wait for the morning); anything else is a notice to whoever
  of the team is on duty now, else to the digest of whoever comes on duty first.

Every notice and page is audited on the review item (`review.escalation.*`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from guardian.decide.escalation import plan_for
from guardian.notify import queue
from guardian.notify.compose import MessageView, for_escalation
from guardian.policy.model import Policy
from guardian.schedule.availability import Availability
from guardian.schedule.overrides import Override
from guardian.storage.audit import audit
from guardian.storage.messages import read_message
from guardian.storage.models import ReviewItem
from guardian.storage.pages import PageHook, Step, open_page
from guardian.types import NotificationStatus

LONE_PAGE_MINUTES = 30


async def tell_escalation(conn: AsyncConnection, items: Sequence[ReviewItem],
                          policy: Policy, now: dt.datetime, base_url: str, moderator: str,
                          page_hook: PageHook | None = None,
                          overrides: Sequence[Override] = ()) -> None:
    avail = Availability(policy, None, overrides)
    for item in items:
        to = item.escalated_to
        if to is None or item.id is None:
            continue
        row = await read_message(conn=conn, message_id=item.message_id)
        if row is None:
            continue
        view = MessageView.masked(row)
        subject = f"review:{item.id}"
        if to == "hr":
            people = policy.hr_contacts()
            for person in people:
                await queue.put(conn=conn, planned=for_escalation(
                    item.id, person, view, item.category, to, item.note, policy, now,
                    NotificationStatus.pending, base_url), message_id=item.message_id)
            await audit(conn=conn, actor=moderator, action="review.escalation.notice",
                        subject=subject, details={"to": "hr", "people": people})
        elif to in policy.team_index and item.level == "threat":
            plan = plan_for(policy, avail, to, now)
            steps = [Step(person, minutes) for person, minutes in plan.page_steps()] or (
                [Step(plan.last_resort, LONE_PAGE_MINUTES)] if plan.last_resort else [])
            if not steps:
                await audit(conn=conn, actor=moderator, action="review.escalation.unpaged",
                            subject=subject, details={"to": to, "why": "no one to page"})
                continue
            page, event = await open_page(
                conn=conn, team=to, reason=f"escalated by the moderators: a threat "
                f"({item.category or 'general'}): {view.masked_text[:300]}", plan=steps,
                last_resort=plan.last_resort, now=now, message_id=item.message_id,
                category=item.category)
            if page_hook is not None:
                await page_hook(conn, page, event, now)
            await audit(conn=conn, actor=moderator, action="review.escalation.page",
                        subject=subject, details={"to": to, "page_id": page.id,
                                                  "paged": steps[0].person})
        elif to in policy.team_index:
            on = sorted(p for p in avail.team(to, now) if not avail.quiet(p, now))
            status, due = NotificationStatus.pending, now
            if not on:
                nxt = avail.team_next(to, now)
                if nxt is not None:
                    due, status = nxt[0], NotificationStatus.waiting
                    on = sorted(nxt[1])
            for person in on:
                await queue.put(conn=conn, planned=for_escalation(
                    item.id, person, view, item.category, to, item.note, policy, due,
                    status, base_url), message_id=item.message_id)
            await audit(conn=conn, actor=moderator, action="review.escalation.notice",
                        subject=subject, details={"to": to, "people": on,
                                                  "at": due.isoformat()})
