"""`priority` on messages and notifications: emergencies are worked on and sent first.

A message's priority comes from triage at ingest (guardian.decide.triage); the workers claim
pending work by priority, then arrival. Rows already stored count as `normal` (1).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False,
                                   server_default="1"))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False,
                                   server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("priority")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("priority")
