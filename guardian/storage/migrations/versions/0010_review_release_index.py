"""A partial index of the dismissed review items not yet delivered to staff, which the
release worker asks for every poll (without it, a scan of every review item ever).

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


def downgrade() -> None:
    op.drop_index("ix_review_items_to_release", table_name="review_items")
