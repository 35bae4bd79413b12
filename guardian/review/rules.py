"""The moderation rules, pure: what state a review item is in, who may act on it, what
counts toward a moderator's exposure, and how an author's sanctions change.

No I/O and no clock (every function takes `now`), as Ozone's `mod-service/status.ts`
computes a subject's state before a thin write: the queue, decision and sanction modules
beside this one ask these functions, then write what they answer, atomically. Strikes and
mutes are written with upserts that do in SQL what `apply_sanction` does here (counts
added, a mute never shortened), so two moderators at once cannot lose a strike; a test
holds the two to the same answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from guardian.policy.model import Moderation
from guardian.types import ReviewDecision, ReviewStatus

# A claim lasts this long; then the item is open to any moderator again.
CLAIM_MINUTES = 15
# Reading the raw text of these counts toward a moderator's daily exposure.
EXPOSING_LEVELS = ("abusive", "threat")

Sanction = Literal["strike", "mute", "block"]


class ItemState(Protocol):
    """What the rules read of a review item (`guardian.storage.models.ReviewItem`)."""

    @property
    def status(self) -> str: ...
    @property
    def claimed_by(self) -> str | None: ...
    @property
    def claim_expires_at(self) -> dt.datetime | None: ...
    @property
    def decision(self) -> str | None: ...
    @property
    def decided_by(self) -> str | None: ...


# --- review items ---------------------------------------------------------------------------

def claim_live(item: ItemState, now: dt.datetime) -> bool:
    return item.claim_expires_at is not None and item.claim_expires_at > now


def status_at(item: ItemState, now: dt.datetime) -> ReviewStatus:
    """`claimed` only while the claim lasts; an expired claim is open again."""
    if item.status == ReviewStatus.claimed.value and not claim_live(item, now):
        return ReviewStatus.open
    return ReviewStatus(item.status)


def holder_at(item: ItemState, now: dt.datetime) -> str | None:
    """Who holds the item's claim at `now`, if anyone."""
    return item.claimed_by if status_at(item, now) == ReviewStatus.claimed else None


def refusal(item: ItemState | None, moderator: str, now: dt.datetime) -> str | None:
    """Why `moderator` may not claim or decide the item now, in words for them; None when
    they may (it is open, or its claim is theirs)."""
    if item is None:
        return "it does not exist"
    status = status_at(item, now)
    if status == ReviewStatus.decided:
        return f"it is already decided ({item.decision} by {item.decided_by})"
    holder = holder_at(item, now)
    if holder is not None and holder != moderator:
        until = item.claim_expires_at.isoformat() if item.claim_expires_at else "?"
        return f"{holder} holds its claim until {until}"
    return None


def claim_until(now: dt.datetime, minutes: int = CLAIM_MINUTES) -> dt.datetime:
    return now + dt.timedelta(minutes=minutes)


def exposing(level: str) -> bool:
    """Whether reading the raw text of an item of this level is exposure."""
    return level in EXPOSING_LEVELS


def counts_toward_exposure(level: str, moderator: str, revealed_by: str | None,
                           revealed_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether revealing the item's raw text to `moderator` now counts one more item of
    their daily (UTC) exposure: abusive or threatening, and not already read by them the
    same day (a second look does not count twice)."""
    seen_today = (revealed_by == moderator and revealed_at is not None
                  and revealed_at.date() == now.date())
    return exposing(level) and not seen_today


# --- author sanctions -----------------------------------------------------------------------

@dataclass(frozen=True)
class AuthorStatus:
    """What the decision engine needs about an author: strikes, mute and block."""

    source: str
    handle: str
    strikes: int = 0
    muted_until: dt.datetime | None = None
    blocked: bool = False

    def muted(self, at: dt.datetime) -> bool:
        return self.muted_until is not None and self.muted_until > at

    def silenced(self, at: dt.datetime) -> bool:
        """Blocked, or muted at `at`: the author's messages are dropped."""
        return self.blocked or self.muted(at)


def sanction_of(decision: ReviewDecision) -> Sanction | None:
    """What a moderator's decision does to the item's author."""
    return {ReviewDecision.confirm: "strike", ReviewDecision.mute: "mute",
            ReviewDecision.block: "block"}.get(decision)  # type: ignore[return-value]


def longer_mute(current: dt.datetime | None, new: dt.datetime) -> dt.datetime:
    """A mute is never shortened by a later, shorter one."""
    return new if current is None or new > current else current


def auto_mute_until(strikes: int, now: dt.datetime, moderation: Moderation
                    ) -> dt.datetime | None:
    """The strike rule: at `strikes_to_mute` strikes or more the author is muted for
    `mute_days` from now (each further strike renews the mute)."""
    if strikes >= moderation.strikes_to_mute:
        return now + dt.timedelta(days=moderation.mute_days)
    return None


def mute_until(now: dt.datetime, days: int | None, moderation: Moderation) -> dt.datetime:
    """A moderator's mute: for `days`, or the policy's `mute_days` when they name none."""
    return now + dt.timedelta(days=days or moderation.mute_days)


def apply_sanction(status: AuthorStatus, sanction: Sanction, now: dt.datetime,
                   moderation: Moderation, *, count: int = 1, days: int | None = None
                   ) -> AuthorStatus:
    """The author's status after `sanction` (`count` strikes; a mute of `days`)."""
    if sanction == "strike":
        strikes = status.strikes + count
        until = auto_mute_until(strikes, now, moderation)
        muted = (longer_mute(status.muted_until, until) if until is not None
                 else status.muted_until)
        return replace(status, strikes=strikes, muted_until=muted)
    if sanction == "mute":
        return replace(status, muted_until=longer_mute(
            status.muted_until, mute_until(now, days, moderation)))
    return replace(status, blocked=True)
