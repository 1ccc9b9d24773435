"""pass links: the SHA-256 of each payment's emailed private link, and whether it was mailed

Revision ID: h7_pass_links
Revises: h6a1_server_secrets
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gymgate.models

revision: str = "h7_pass_links"
down_revision: str | None = "h6a1_server_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pass_links",
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("link_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", gymgate.models.UtcDateTime(), nullable=False),
        sa.Column("attempted_at", gymgate.models.UtcDateTime(), nullable=False),
        sa.Column("mailed_at", gymgate.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_pass_links_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_pass_links")),
        sa.UniqueConstraint("link_sha256", name=op.f("uq_pass_links_link_sha256")),
    )
    with op.batch_alter_table("pass_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pass_links_mailed_at"), ["mailed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pass_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pass_links_mailed_at"))
    op.drop_table("pass_links")
