"""Tables. Stages and roles are stored as plain strings: native enums are painful to migrate."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from guardian.storage.db import UTCDateTime, utcnow

# BIGINT on PostgreSQL, but INTEGER on SQLite so that it stays the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Stage(StrEnum):
    """Where a message is in the pipeline; each worker step moves it one stage on."""

    received = "received"
    scored = "scored"
    decided = "decided"
    notified = "notified"


PIPELINE: tuple[Stage, ...] = (Stage.received, Stage.scored, Stage.decided, Stage.notified)
FINAL_STAGE = PIPELINE[-1]


def next_stage(stage: Stage) -> Stage:
    return PIPELINE[PIPELINE.index(stage) + 1]


class Role(StrEnum):
    ingest = "ingest"
    staff = "staff"
    moderator = "moderator"
    hr = "hr"
    admin = "admin"


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_messages_source_external_id"),
        # The workers' claim query: pending work in id order.
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
    # guardian.scoring.engine.Assessment.as_json), the level, and the text staff may see.
    assessment: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    harassment_level: str | None = Field(default=None, max_length=16, index=True)
    masked_text: str | None = Field(default=None, sa_type=Text)


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


class OverrideStatus(StrEnum):
    active = "active"
    proposed = "proposed"    # a swap waiting for the other person (or HR) to accept
    declined = "declined"
    cancelled = "cancelled"


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


class AuditEvent(SQLModel, table=True):
    """Who changed what, when: every override, swap and token change."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True,
                                                           autoincrement=True))
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=128)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
