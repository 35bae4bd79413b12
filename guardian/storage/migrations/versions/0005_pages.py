"""Pages (urgent notifications awaiting acknowledgement) and their events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from guardian.storage.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("message_id", BigId, nullable=True),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("last_resort", sa.String(64), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("acked_by", sa.String(128), nullable=True),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_pages_due", "pages", ["status", "due_at"])
    op.create_table(
        "page_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("person", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("page_id", "seq", name="uq_page_events_seq"),
    )
    op.create_index("ix_page_events_page_id", "page_events", ["page_id"])


def downgrade() -> None:
    op.drop_index("ix_page_events_page_id", table_name="page_events")
    op.drop_table("page_events")
    op.drop_index("ix_pages_due", table_name="pages")
    op.drop_table("pages")
