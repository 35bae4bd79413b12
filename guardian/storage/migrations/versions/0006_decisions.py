"""Decisions stored with their message; the category of a page (to bundle emergencies).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("decision", sa.JSON(), nullable=True))
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("category", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("category")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("decision")
