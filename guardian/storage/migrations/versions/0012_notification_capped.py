"""`notifications.capped`: whether a notification counts against its recipient's hourly
cap. An emergency's copy to the people on duty is a `deliver` but must never be capped nor
count toward the cap (docs/decisions.md), which the kind alone cannot say.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("capped", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # Rows written before: messages and storm notices counted, whatever their urgency.
    op.execute("UPDATE notifications SET capped = TRUE "
               "WHERE kind IN ('deliver', 'storm_notice')")


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("capped")
