"""pass bindings: the phone key (thumbprint) each bound pass is bound to now

Revision ID: h15_pass_bindings
Revises: h7_pass_links
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gymgate.models

revision: str = "h15_pass_bindings"
down_revision: str | None = "h7_pass_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pass_bindings",
        sa.Column("pass_id", sa.String(length=32), nullable=False),
        sa.Column("jkt", sa.String(length=43), nullable=False),
        sa.Column("bound_at", gymgate.models.UtcDateTime(), nullable=False),
        sa.Column("rebound_at", gymgate.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["passes.id"], name=op.f("fk_pass_bindings_pass_id_passes")
        ),
        sa.PrimaryKeyConstraint("pass_id", name=op.f("pk_pass_bindings")),
    )
    with op.batch_alter_table("pass_bindings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pass_bindings_rebound_at"), ["rebound_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pass_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pass_bindings_rebound_at"))
    op.drop_table("pass_bindings")
