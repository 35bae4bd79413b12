"""Notification content rendered per channel (payload, language), digests and the index
that finds a person's waiting items.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
        batch.add_column(sa.Column("lang", sa.String(8), nullable=False,
                                   server_default="es"))
        batch.add_column(sa.Column("category", sa.String(64), nullable=True))
        batch.add_column(sa.Column("digest_id", BigId, nullable=True))
    op.create_index("ix_notifications_recipient", "notifications",
                    ["recipient", "status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_recipient", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("digest_id")
        batch.drop_column("category")
        batch.drop_column("lang")
        batch.drop_column("payload")
