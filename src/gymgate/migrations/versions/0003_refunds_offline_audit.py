"""refunds in progress, operator events; audit mode, conflict and offline decision ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gymgate.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refund_started_at", gymgate.models.UtcDateTime(), nullable=True)
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=8), nullable=False, server_default="online")
        )
        batch_op.add_column(sa.Column("conflict", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("decision_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_audit_events_decision_id"), ["decision_id"], unique=True
        )
    op.create_table(
        "operator_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", gymgate.models.UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_events")),
    )


def downgrade() -> None:
    op.drop_table("operator_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_decision_id"))
        batch_op.drop_column("decision_id")
        batch_op.drop_column("conflict")
        batch_op.drop_column("mode")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("refund_started_at")
