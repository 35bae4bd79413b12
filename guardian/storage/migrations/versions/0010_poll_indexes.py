"""Indexes for two questions asked all the time of tables that only grow:

- the dismissed review items not yet delivered to staff (the release worker, every poll):
  a partial index, without which every review item ever is scanned;
- the notifications sent in the last hour (the rate limit, every decision batch): by
  status and time sent.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_PG_WHERE = sa.text("released AND released_at IS NULL")
_SQLITE_WHERE = sa.text("released = 1 AND released_at IS NULL")   # as SQLAlchemy writes `released`


def upgrade() -> None:
    op.create_index("ix_review_items_to_release", "review_items", ["message_id"],
                    postgresql_where=_PG_WHERE, sqlite_where=_SQLITE_WHERE)
    op.create_index("ix_notifications_sent", "notifications", ["status", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_sent", table_name="notifications")
    op.drop_index("ix_review_items_to_release", table_name="review_items")
