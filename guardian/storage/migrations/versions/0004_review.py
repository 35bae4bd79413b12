"""The moderators' review queue, author sanctions and moderator exposure.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from guardian.storage.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", BigId, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claim_expires_at", UTCDateTime(), nullable=True),
        sa.Column("revealed_by", sa.String(128), nullable=True),
        sa.Column("revealed_at", UTCDateTime(), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("escalated_to", sa.String(64), nullable=True),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("message_id", "reason", name="uq_review_items_message_reason"),
    )
    op.create_index("ix_review_items_status", "review_items", ["status", "id"])
    op.create_table(
        "author_sanctions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("handle", sa.String(256), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("muted_until", UTCDateTime(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("source", "handle", name="uq_author_sanctions_source_handle"),
    )
    op.create_table(
        "moderator_exposure",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("moderator", sa.String(128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.UniqueConstraint("moderator", "day", name="uq_moderator_exposure_moderator_day"),
    )


def downgrade() -> None:
    op.drop_table("moderator_exposure")
    op.drop_table("author_sanctions")
    op.drop_index("ix_review_items_status", table_name="review_items")
    op.drop_table("review_items")
