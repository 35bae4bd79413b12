"""An index on the audit log's subject and action: whether a person has already flagged a
message (`message.flag` on `message:ID`, asked at every flag) finds its rows without
scanning a log that only grows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_subject", "audit_log", ["subject", "action"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
