"""audit totals over a time range from one covering index

Revision ID: h8_audit_range_index
Revises: h4_gate_sync_0004
Create Date: 2026-12-01 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "h8_audit_range_index"
down_revision: str | None = "h4_gate_sync_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_range_totals", ["at", "result", "reason", "gate", "conflict"]
        )
        batch_op.drop_index("ix_audit_events_at")


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_at", ["at"])
        batch_op.drop_index("ix_audit_events_range_totals")
