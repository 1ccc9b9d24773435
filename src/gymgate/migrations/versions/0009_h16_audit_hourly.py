"""audit rollup: audit rows counted per hour, and how far the counting has got

Revision ID: h16_audit_hourly
Revises: h15_pass_bindings
Create Date: 2026-12-01 10:00:00

Starts empty (rolled_through 0): the server's rollup job counts the existing rows in the
background, and summaries stay exact meanwhile (they count what is not rolled up yet).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gymgate.models

revision: str = "h16_audit_hourly"
down_revision: str | None = "h15_pass_bindings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_hourly",
        sa.Column("hour", gymgate.models.UtcDateTime(), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("conflict", sa.String(length=16), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour", "gate", "result", "reason", "conflict", name=op.f("pk_audit_hourly")
        ),
    )
    rollup = op.create_table(
        "audit_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rolled_through", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_rollup")),
    )
    op.bulk_insert(rollup, [{"id": 1, "rolled_through": 0, "version": 0}])


def downgrade() -> None:
    op.drop_table("audit_rollup")
    op.drop_table("audit_hourly")
