"""gate credentials: revoked, last sync and pending uploads, last seen; used passes' recorded_at

Revision ID: h4_gate_sync_0004
Revises: 0003
Create Date: 2026-12-01 07:00:00

(Another branch may add a 0004 too: fix the down_revision chain when merging.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gymgate.models

revision: str = "h4_gate_sync_0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", gymgate.models.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_sync_at", gymgate.models.UtcDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("pending_uploads", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("last_seen_at", gymgate.models.UtcDateTime(), nullable=True))
    with op.batch_alter_table("used_passes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", gymgate.models.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("used_passes", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")
    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("pending_uploads")
        batch_op.drop_column("last_sync_at")
        batch_op.drop_column("revoked_at")
