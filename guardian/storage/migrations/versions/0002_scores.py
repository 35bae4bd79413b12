"""Scores: each message's assessment, harassment level and masked text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("assessment", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("harassment_level", sa.String(16), nullable=True))
        batch.add_column(sa.Column("masked_text", sa.Text(), nullable=True))
        batch.create_index("ix_messages_harassment_level", ["harassment_level"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_harassment_level")
        batch.drop_column("masked_text")
        batch.drop_column("harassment_level")
        batch.drop_column("assessment")
