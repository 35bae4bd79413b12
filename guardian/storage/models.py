"""Tables. Stages, roles and statuses (`guardian.types`) are stored as plain strings: native
enums are painful to migrate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from guardian.storage.db import UTCDateTime, utcnow
from guardian.types import (
    DEFAULT_PRIORITY,
    NotificationStatus,
    OverrideStatus,
    PageStatus,
    ReviewStatus,
    Stage,
)

# BIGINT on PostgreSQL, but INTEGER on SQLite so that it stays the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_messages_source_external_id"),
        # The workers' claim query: the pending rows (then ordered by priority and id).
        Index("ix_messages_pending", "stage", "available_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    source: str = Field(max_length=64)
    external_id: str = Field(max_length=256)
    author_handle: str = Field(max_length=256)
    author_name: str | None = Field(default=None, max_length=256)
    text: str = Field(sa_type=Text)
    lang: str | None = Field(default=None, max_length=16)
    mentions: list[str] = Field(default_factory=list, sa_type=JSON)
    in_reply_to: str | None = Field(default=None, max_length=256)
    url: str | None = Field(default=None, max_length=2048)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    # How soon to work on it: triage at ingest (guardian.decide.triage), highest first.
    priority: int = Field(default=DEFAULT_PRIORITY, sa_type=SmallInteger)
    stage: str = Field(default=Stage.received.value, max_length=16)
    # Work queue: a message is claimable when its stage is not final, it is not parked as
    # failed, and available_at has passed (a lease or a retry back-off pushes it later).
    available_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    failed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    stage_times: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)

    # Written by the scoring stage: labels, reasons, language and scorer (see
    # guardian.scoring.assessor.Assessment.as_json), the level, and the text staff may see.
    assessment: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    harassment_level: str | None = Field(default=None, max_length=16, index=True)
    masked_text: str | None = Field(default=None, sa_type=Text)
    # Written by the decision stage: guardian.decide.Decision.to_json().
    decision: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class StageEvent(SQLModel, table=True):
    """One row per completed stage of a message: the unique key makes completion exact."""

    __tablename__ = "stage_events"
    __table_args__ = (UniqueConstraint("message_id", "stage", name="uq_stage_events_once"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    message_id: int = Field(sa_column=Column(BigId, nullable=False, index=True))
    stage: str = Field(max_length=16)
    worker: str = Field(max_length=64)
    completed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    duration_ms: float = 0.0


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is kept, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, index=True)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    # For `staff` tokens: the staff id (from the policy) the token belongs to.
    staff_id: str | None = Field(default=None, max_length=64)
    prefix: str = Field(max_length=16)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class DutyOverride(SQLModel, table=True):
    """A change to who is on duty for a period (sick leave, holiday, swap)."""

    __tablename__ = "overrides"
    __table_args__ = (Index("ix_overrides_team_period", "team", "starts_at", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=64)
    kind: str = Field(max_length=16)        # replace | add | remove
    person: str = Field(max_length=64)      # who is added, removed, or comes in
    replaces: str | None = Field(default=None, max_length=64)  # who goes out (replace)
    starts_at: dt.datetime = Field(sa_type=UTCDateTime)
    ends_at: dt.datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=500)
    status: str = Field(default=OverrideStatus.active.value, max_length=16)
    created_by: str = Field(max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RequestState(SQLModel, table=True):
    """A citizen's request's place in its lifecycle (guardian/decide/lifecycle.py). No row:
    `received`. Times kept for the time-to-acknowledge and time-to-resolve figures."""

    __tablename__ = "request_states"

    message_id: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))
    team: str = Field(max_length=64, index=True)
    category: str = Field(max_length=64)
    status: str = Field(max_length=16)
    changed_at: dt.datetime = Field(sa_type=UTCDateTime)
    changed_by: str = Field(max_length=128)
    acknowledged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=500)


class ConnectorState(SQLModel, table=True):
    """A connector's place in its feed and who runs it: the cursor is written in the same
    transaction as the messages it follows (nothing lost, nothing twice across restarts),
    and a lease lets one process of many run each connector."""

    __tablename__ = "connector_state"

    name: str = Field(max_length=64, primary_key=True)
    kind: str = Field(max_length=16)
    cursor: str | None = Field(default=None, sa_type=Text)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Not before this instant (a network's Retry-After, or the back-off after errors).
    wait_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = 0
    last_fetch_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_event_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    events: int = 0
    skipped: int = 0


class CalendarLink(SQLModel, table=True):
    """The generation of a person's or team's calendar link: its token is signed with it,
    so raising it revokes the links given out before (one lost phone, not every link of
    the town through a new GUARDIAN_SECRET_KEY). No row: generation 0."""

    __tablename__ = "calendar_links"

    kind: str = Field(max_length=16, primary_key=True)     # person | team
    ident: str = Field(max_length=64, primary_key=True)
    generation: int = 0
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Who changed what, when: every override, swap and token change."""

    __tablename__ = "audit_log"
    # Everything about one subject, by action (who has flagged a message already).
    __table_args__ = (Index("ix_audit_log_subject", "subject", "action"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=128)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Page(SQLModel, table=True):
    """An urgent notification that expects an acknowledgement, with its escalation plan.

    `plan` is the chain unrolled (repeats included): [{"person": id, "delay_minutes": n}];
    step `step` is the one paged now, and `due_at` is when the next one is, unless
    acknowledged first.
    """

    __tablename__ = "pages"
    __table_args__ = (Index("ix_pages_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, sa_column=Column(BigId, nullable=True))
    team: str = Field(max_length=64)
    category: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=500)
    plan: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    last_resort: str | None = Field(default=None, max_length=64)
    step: int = 0
    person: str = Field(max_length=64)
    status: str = Field(default=PageStatus.open.value, max_length=16)
    due_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acked_by: str | None = Field(default=None, max_length=128)
    acked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class PageEvent(SQLModel, table=True):
    """What happened to a page, in order: each is one notification to send (issue of the
    notifications stage) or one answer. (page, seq) is unique: nothing happens twice."""

    __tablename__ = "page_events"
    __table_args__ = (UniqueConstraint("page_id", "seq", name="uq_page_events_seq"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    page_id: int = Field(index=True)
    seq: int
    kind: str = Field(max_length=16)   # paged | escalated | last_resort | acknowledged
    person: str | None = Field(default=None, max_length=64)
    actor: str | None = Field(default=None, max_length=128)
    at: dt.datetime = Field(sa_type=UTCDateTime)


class ReviewItem(SQLModel, table=True):
    """A held message waiting for a moderator; one per (message, reason)."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("message_id", "reason", name="uq_review_items_message_reason"),
        Index("ix_review_items_status", "status", "id"),
        # Dismissed items whose message has not reached staff yet (the release worker's poll).
        Index("ix_review_items_to_release", "message_id",
              postgresql_where=text("released AND released_at IS NULL"),
              sqlite_where=text("released = 1 AND released_at IS NULL")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    message_id: int = Field(sa_column=Column(BigId, nullable=False))
    reason: str = Field(max_length=32)      # why it is held: abusive, threat, storm...
    level: str = Field(max_length=16)       # the message's harassment level when held
    category: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=64)  # staff id or team id
    status: str = Field(default=ReviewStatus.open.value, max_length=16)
    claimed_by: str | None = Field(default=None, max_length=128)
    claim_expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last moderator shown the raw text, and when: a second look the same day does not
    # count twice toward their exposure.
    revealed_by: str | None = Field(default=None, max_length=128)
    revealed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision: str | None = Field(default=None, max_length=16)
    escalated_to: str | None = Field(default=None, max_length=64)
    # Set by a dismissal: the pipeline delivers the message to staff as a normal request,
    # and sets `released_at` when it has (once, for all the message's items).
    released: bool = False
    released_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=1000)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuthorSanction(SQLModel, table=True):
    """Strikes, mute and block of one author on one source (moderators' decisions)."""

    __tablename__ = "author_sanctions"
    __table_args__ = (
        UniqueConstraint("source", "handle", name="uq_author_sanctions_source_handle"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    handle: str = Field(max_length=256)
    strikes: int = 0
    muted_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    blocked: bool = False
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ModeratorExposure(SQLModel, table=True):
    """How many abusive or threatening items a moderator has read, per UTC day."""

    __tablename__ = "moderator_exposure"
    __table_args__ = (
        UniqueConstraint("moderator", "day", name="uq_moderator_exposure_moderator_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    moderator: str = Field(max_length=128)  # the audit actor, e.g. `moderator:ana`
    day: dt.date
    views: int = 0


class Notification(SQLModel, table=True):
    """One message to one person, in the outbox until a channel takes it (or all fail).

    A work queue like `messages`: claimable while `pending` and `available_at` has passed
    (a lease or a retry back-off pushes it later). `channel_index` is the person's channel
    tried now, `attempts` the attempts made on that channel.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_notifications_idempotency_key"),
        Index("ix_notifications_pending", "status", "available_at"),
        Index("ix_notifications_recipient", "recipient", "status", "due_at"),
        Index("ix_notifications_sent", "status", "sent_at"),   # the hourly rate limit
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigId, nullable=True))
    page_id: int | None = Field(default=None)
    recipient: str = Field(max_length=64)           # a staff id of the policy
    kind: str = Field(max_length=16)                # NotificationKind
    # A plain-text rendering (the delivery log shows it); each channel gets the kind's
    # template rendered from `payload` in the recipient's language when it is sent.
    body: str = Field(sa_type=Text)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    lang: str = Field(default="es", max_length=8)
    category: str | None = Field(default=None, max_length=64)
    # Counts toward the recipient's hourly cap: a message or storm notice that is not an
    # emergency (pages, emergencies, digests, alerts and tests never do).
    capped: bool = Field(default=False)
    # Sent highest first when several are due (pages and emergencies before the rest).
    priority: int = Field(default=DEFAULT_PRIORITY, sa_type=SmallInteger)
    digest_id: int | None = Field(default=None, sa_column=Column(BigId, nullable=True))
    channel_index: int = 0
    due_at: dt.datetime = Field(sa_type=UTCDateTime)
    idempotency_key: str = Field(max_length=200)
    status: str = Field(default=NotificationStatus.pending.value, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    available_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the recipient read it in their inbox (or opened its message's page).
    read_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    """One try of one notification on one channel; the URL is stored masked, never with
    its secrets."""

    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    notification_id: int = Field(sa_column=Column(BigId, nullable=False, index=True))
    at: dt.datetime = Field(sa_type=UTCDateTime)
    channel_index: int = 0
    channel_url_masked: str = Field(max_length=2048)
    ok: bool = False
    error: str | None = Field(default=None, sa_type=Text)
    duration_ms: float = 0.0


# --- web sign-in (guardian.storage.accounts) ------------------------------------------------

class Account(SQLModel, table=True):
    """A member of staff who may sign in to the web pages: the argon2id hash of their
    password (set through an invitation) and the language they chose, if any."""

    __tablename__ = "accounts"

    staff_id: str = Field(max_length=64, primary_key=True)  # a staff id of the policy
    password_hash: str | None = Field(default=None, max_length=256)
    lang: str | None = Field(default=None, max_length=8)
    password_set_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Invitation(SQLModel, table=True):
    """A one-time link to set a password; only its SHA-256 is kept."""

    __tablename__ = "invitations"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: str = Field(max_length=64, index=True)
    created_by: str = Field(max_length=128)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser; the cookie holds the id, the database only its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(max_length=64, primary_key=True)
    staff_id: str = Field(max_length=64, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    last_seen_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    address: str = Field(default="", max_length=64)


class SignInAttempt(SQLModel, table=True):
    """One try at signing in, kept to limit guessing per account and per address."""

    __tablename__ = "signin_attempts"
    __table_args__ = (Index("ix_signin_attempts_at", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    at: dt.datetime = Field(sa_type=UTCDateTime)
    staff_id: str = Field(max_length=64)
    address: str = Field(max_length=64)
    ok: bool = False
