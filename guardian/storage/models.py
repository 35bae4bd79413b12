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
    prefix: str = Field(max_length=16)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
