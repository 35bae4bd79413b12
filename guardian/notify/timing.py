"""Quiet hours, duty and the hourly cap, checked again when a notification is sent.

The decision chose the time from what it knew; by the time a notification goes out a
retry may have pushed it into the evening, an override may have taken the person off
duty, or other notifications may have used their hourly allowance. Pure: the sender asks
with the person's availability and counts, and gets `Send` or `Later`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from guardian.schedule.availability import Availability
from guardian.types import CAPPED_KINDS, NotificationKind

__all__ = ["CAPPED_KINDS", "RETRY_WITHOUT_START", "Later", "Send", "when_to_send"]

# When a person has no working period or shift ahead, look again after this long.
RETRY_WITHOUT_START = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Send:
    pass


@dataclass(frozen=True)
class Later:
    at: dt.datetime
    to_digest: bool  # the notification becomes an item of the digest at `at`
    reason: str


def _next_start(avail: Availability, person: str, now: dt.datetime) -> tuple[dt.datetime, str]:
    start = avail.next_start(person, now)
    if start is None:
        return now + RETRY_WITHOUT_START, " (no working period ahead: looked at again later)"
    return start, ""


def when_to_send(kind: str, person: str, now: dt.datetime, avail: Availability, *,
                 sent_last_hour: int, limit: int, capped: bool | None = None) -> Send | Later:
    """Whether a notification of `kind` may reach `person` at `now`. `capped`: whether it
    counts against the hourly cap (False for an emergency's; by default, by its kind)."""
    if kind in (NotificationKind.page.value, NotificationKind.test.value):
        return Send()  # the contract's exception; a test is sent on an operator's request
    if person not in avail.policy.people:
        return Send()  # the sender reports the unknown person
    if kind in (NotificationKind.admin_alert.value, NotificationKind.schedule.value,
                NotificationKind.report.value):
        # Not about a message: it may reach someone off duty, never in their quiet hours.
        if not avail.quiet(person, now):
            return Send()
        end = avail.quiet_end(person, now)
        if end is None:
            end, note = _next_start(avail, person, now)
        else:
            note = ""
        return Later(end, False, f"{person} is in quiet hours{note}")
    if not avail.on_duty(person, now):
        start, note = _next_start(avail, person, now)
        state = "in quiet hours" if avail.quiet(person, now) else "off duty"
        # A digest waits for the next start; anything else joins that digest.
        return Later(start, kind != NotificationKind.digest.value,
                     f"{person} is {state} now{note}")
    if capped is None:
        capped = kind in CAPPED_KINDS
    if capped and sent_last_hour >= limit:
        start, note = _next_start(avail, person, now)
        return Later(start, True, f"rate limit: {person} had {sent_last_hour} notifications "
                                  f"in the last hour (limit {limit}){note}")
    return Send()
