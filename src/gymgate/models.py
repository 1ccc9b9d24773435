"""The database tables as SQLAlchemy 2 models; shapes only, no behaviour.

Alembic migrations (gymgate/migrations) are the only way these tables are created.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from gymgate.vocabulary import (
    Conflict,
    DecisionMode,
    DenyReason,
    PaymentStatus,
    Result,
    UsedState,
)

__all__ = [
    "AuditEvent",
    "AuditHourly",
    "AuditRollupMark",
    "Base",
    "Gate",
    "OperatorEvent",
    "Pass",
    "PassBinding",
    "PassLink",
    "Payment",
    "ProcessedPaymentEvent",
    "ServerSecret",
    "UsedPass",
    "User",
    "UtcDateTime",
]

ID = String(32)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored naive UTC on every backend."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[PaymentStatus] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    # The provider's id of the money once paid (Stripe: the payment intent); refund events
    # name the payment by it rather than by the checkout in provider_ref.
    provider_payment_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set while the provider is asked for a refund: the payment's pass is blocked meanwhile,
    # and no second refund starts (see gymgate.services.payments).
    refund_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ProcessedPaymentEvent(Base):
    """A provider webhook event already handled: a replayed or re-sent event id changes nothing."""

    __tablename__ = "processed_payment_events"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Pass(Base):
    """One per payment, for life; its id is the token's jti."""

    __tablename__ = "passes"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PassBinding(Base):
    """The phone a bound pass is bound to now: its key's RFC 7638 thumbprint (`jkt`).

    One row per bound pass. Issuing with another phone's key replaces `jkt` and stamps
    `rebound_at`: codes signed by the old phone are then denied `revoked` (online at once;
    gates learn it at their next sync, which lists every re-bound pass still valid).
    """

    __tablename__ = "pass_bindings"

    pass_id: Mapped[str] = mapped_column(ForeignKey("passes.id"), primary_key=True)
    jkt: Mapped[str] = mapped_column(String(43))
    bound_at: Mapped[datetime] = mapped_column(UtcDateTime())
    rebound_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class PassLink(Base):
    """The private link emailed for a payment's pass: only the SHA-256 of its secret is kept.

    One per payment; a resend or a retried email replaces the secret (older links stop
    working). `mailed_at` is null until an email carrying the current secret was accepted by
    the mail server: such rows are retried (gymgate.services.pass_links).
    """

    __tablename__ = "pass_links"

    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), primary_key=True)
    link_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    mailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class UsedPass(Base):
    """The used-nonce table: a row means the pass can no longer open a gate.

    The insert of a row *is* the admission decision (primary key conflict = already used).
    `state` is 'used' (admitted once) or 'revoked' (refunded before use). Rows live until the
    token's exp plus leeway, after which the token is refused as expired anyway.
    """

    __tablename__ = "used_passes"

    pass_id: Mapped[str] = mapped_column(ID, primary_key=True)
    state: Mapped[UsedState] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    gate: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    # When the server learned of it, if later than `at`: an offline admission uploaded by a
    # gate keeps its scan time in `at`; gates syncing "uses since" read this instead.
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    """One row per authenticated verify attempt; never the token itself, only its hash."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    gate: Mapped[str] = mapped_column(String(64))
    result: Mapped[Result] = mapped_column(String(8))
    reason: Mapped[DenyReason | None] = mapped_column(String(32))
    pass_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    kid: Mapped[str | None] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64))
    # online: decided by the server; offline: decided at the gate, uploaded later (`at` is
    # then the gate's scan time, `decision_id` the gate's own id for it, so a re-upload is
    # recognised).
    mode: Mapped[DecisionMode] = mapped_column(String(8), server_default="online")
    # For an offline allow the server found to be a second use or a revoked pass.
    conflict: Mapped[Conflict | None] = mapped_column(String(16))
    decision_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # Covers the operator's totals and charts over a time range (index-only scans);
        # with `at` leading it also serves every query the plain `at` index did.
        Index(
            "ix_audit_events_range_totals",
            "at",
            "result",
            "reason",
            "gate",
            "conflict",
        ),
        Index("ix_audit_events_pass_id", "pass_id"),
        Index("ix_audit_events_decision_id", "decision_id", unique=True),
    )


class AuditHourly(Base):
    """Audit rows counted per UTC hour of `at` and per what a summary tells apart, so that
    totals over a year add up a few thousand of these instead of scanning every row
    (gymgate.services.audit_rollup keeps them; gymgate.services.audit_counts reads them).
    A missing reason or conflict is '' here (a key column cannot be NULL)."""

    __tablename__ = "audit_hourly"

    hour: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    gate: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[str] = mapped_column(String(8), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    conflict: Mapped[str] = mapped_column(String(16), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)


class AuditRollupMark(Base):
    """One row: audit_hourly counts exactly the audit rows with id <= rolled_through.
    `version` changes with every change to either table, so a rollup computed outside the
    write lock only lands if nothing moved meanwhile."""

    __tablename__ = "audit_rollup"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rolled_through: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger)


class OperatorEvent(Base):
    """An operator's act (a refund, say): who was acted on, when, and what happened."""

    __tablename__ = "operator_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))


class Gate(Base):
    """A scanner credential; only the SHA-256 of its secret is stored."""

    __tablename__ = "gates"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A revoked gate's secret no longer authenticates anywhere (servers reload every 5 s).
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The gate agent's last sync, and how many offline decisions it still had to upload.
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pending_uploads: Mapped[int] = mapped_column(Integer, server_default="0")
    # Last authenticated request of any kind, written by servers at most every few seconds.
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ServerSecret(Base):
    """A random secret every server sharing the database uses (made by the first to need it)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
