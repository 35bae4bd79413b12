"""Enums and protocols shared across the layers. Imports nothing of Guardian's own.

Tables store these as plain strings (`guardian.storage.models`); the pure core, the
adapters and the entry points all speak them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

# --- harassment scores --------------------------------------------------------------------

# Detoxify's labels: every scorer gives a probability in [0, 1] for each.
LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "sexual_explicit",
)

LabelScores = dict[str, float]


# --- the pipeline ---------------------------------------------------------------------------

class Stage(StrEnum):
    """Where a message is in the pipeline; each worker step moves it one stage on."""

    received = "received"
    scored = "scored"
    decided = "decided"
    notified = "notified"


PIPELINE: tuple[Stage, ...] = (Stage.received, Stage.scored, Stage.decided, Stage.notified)
FINAL_STAGE = PIPELINE[-1]


# Work is claimed and notifications sent highest priority first (guardian.decide.triage,
# guardian.storage.outbox): the rank of an urgency; `normal` when nothing triaged it.
PRIORITY: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "emergency": 3}
DEFAULT_PRIORITY = PRIORITY["normal"]


def next_stage(stage: Stage) -> Stage:
    return PIPELINE[PIPELINE.index(stage) + 1]


class Role(StrEnum):
    ingest = "ingest"
    staff = "staff"
    moderator = "moderator"
    hr = "hr"
    admin = "admin"
    report = "report"   # reads the wellbeing report, nothing else (the mayor, by API)


# Roles whose tokens belong to a person of the policy (`tokens create --staff ID`): what
# they see and what they record is that person's.
PERSONAL_ROLES = frozenset({Role.staff, Role.moderator})


class RequestStatus(StrEnum):
    """Where a citizen's request is, as FixMyStreet and Open311 show it: staff move it on."""

    received = "received"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"      # not done, with a reason (a duplicate, not the town's to do)


# --- duty, pages, review, notifications -----------------------------------------------------

class OverrideStatus(StrEnum):
    active = "active"
    proposed = "proposed"    # a swap waiting for the other person (or HR) to accept
    accepted = "accepted"    # a swap accepted, waiting for HR (`swaps.require_approval`)
    declined = "declined"
    cancelled = "cancelled"


class PageStatus(StrEnum):
    open = "open"                  # waiting for an acknowledgement
    acknowledged = "acknowledged"
    exhausted = "exhausted"        # the chain ran out; the last-resort contact was told


class ReviewStatus(StrEnum):
    open = "open"
    claimed = "claimed"     # by one moderator until `claim_expires_at`; then open again
    decided = "decided"


class ReviewDecision(StrEnum):
    dismiss = "dismiss"     # not abusive after all: released to staff as a normal request
    confirm = "confirm"     # abusive: one strike for the author
    escalate = "escalate"   # to HR or the police team (`escalated_to`)
    mute = "mute"           # the author's messages are dropped until `muted_until`
    block = "block"         # the author's messages are dropped for good


# Instants Guardian takes: a date outside these years is a typo (9999-12-31), and near the
# ends of the calendar an offset would overflow on the way to UTC.
FIRST_YEAR, LAST_YEAR = 1970, 2200


def instant_in_range(value: dt.datetime) -> bool:
    return FIRST_YEAR <= value.year <= LAST_YEAR


class NotificationKind(StrEnum):
    deliver = "deliver"
    digest = "digest"
    page = "page"
    storm_notice = "storm_notice"
    admin_alert = "admin_alert"
    test = "test"           # `guardian channels test`
    schedule = "schedule"   # a swap or override that concerns the recipient
    citizen_reply = "citizen_reply"  # to a citizen, on the network they wrote in
    backlog = "backlog"     # to the admins: the pipeline is behind (policy `queue`)
    report = "report"       # the week's wellbeing summary, to HR and the report's readers


# Kinds that travel at once even in quiet hours and beyond the hourly cap: pages (the
# contract's one exception) and alerts about undelivered pages go to the last resort.
URGENT_KINDS: frozenset[str] = frozenset({"page"})
# Kinds that count against the hourly cap, unless about an emergency (pages are
# emergencies; a digest is the cap's own outlet; alerts and tests are for the operators).
CAPPED_KINDS: frozenset[str] = frozenset({NotificationKind.deliver.value,
                                          NotificationKind.storm_notice.value})


class NotificationStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"       # every channel of the person failed; an admin alert was queued
    waiting = "waiting"     # an item for the recipient's digest at `due_at`; never sent alone
    digested = "digested"   # carried by the digest notification `digest_id`
    cancelled = "cancelled"  # no longer needed (a page acknowledged before this was sent)
