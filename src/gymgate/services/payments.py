"""Paying for a pass and refunding it (which revokes the pass)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import Clock, to_datetime
from gymgate.db import insert_unless_exists, upsert_insert
from gymgate.errors import InvalidInput, NotFound, PaymentConflict
from gymgate.ids import new_id
from gymgate.models import Pass, Payment, UsedPass, User
from gymgate.payments import PaymentProvider, PaymentStatus

__all__ = ["PaymentView", "create_payment", "get_payment", "refund_payment"]

# Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class PaymentView:
    payment_id: str
    user_id: str
    status: str
    amount_cents: int
    currency: str
    created_at: datetime
    checkout_url: str | None = None

    @classmethod
    def of(cls, payment: Payment, checkout_url: str | None = None) -> PaymentView:
        return cls(
            payment.id,
            payment.user_id,
            payment.status,
            payment.amount_cents,
            payment.currency,
            payment.created_at,
            checkout_url,
        )


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidInput("email must be an address like ana@example.com")
    return email


async def find_or_create_user(
    session: AsyncSession, clock: Clock, email: str, name: str | None
) -> str:
    """The user id for this email, creating the user on first payment."""
    if name is not None and len(name.strip()) > MAX_NAME_LENGTH:
        raise InvalidInput(f"name must be at most {MAX_NAME_LENGTH} characters")
    if name is not None and any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidInput("name must not contain control characters")
    values = {
        "id": new_id(),
        "email": email,
        "name": name.strip() if name and name.strip() else None,
        "created_at": to_datetime(clock.now()),
    }
    await session.execute(insert_unless_exists(session, User, ["email"], **values))
    user_id = await session.scalar(select(User.id).where(User.email == email))
    assert user_id is not None  # just inserted or already there
    return user_id


async def create_payment(
    session: AsyncSession,
    provider: PaymentProvider,
    clock: Clock,
    *,
    email: str,
    name: str | None,
    simulate: PaymentStatus | None,
    amount_cents: int,
    currency: str,
) -> PaymentView:
    """Charge for one pass through the provider and record the payment."""
    email = normalise_email(email)
    charge = await provider.charge(
        amount_cents=amount_cents, currency=currency, email=email, simulate=simulate
    )
    now = to_datetime(clock.now())
    payment = Payment(
        id=new_id("pay_"),
        user_id=await find_or_create_user(session, clock, email, name),
        status=charge.status,
        amount_cents=amount_cents,
        currency=currency,
        provider=provider.name,
        provider_ref=charge.reference,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    await session.commit()
    return PaymentView.of(payment, charge.checkout_url)


async def get_payment(session: AsyncSession, payment_id: str) -> Payment:
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id!r}")
    return payment


async def refund_payment(
    session: AsyncSession, provider: PaymentProvider, clock: Clock, payment_id: str
) -> PaymentView:
    """Refund a completed payment and revoke its pass, so the gate denies it `revoked`."""
    payment = await get_payment(session, payment_id)
    if payment.status != "completed":
        raise PaymentConflict(
            f"payment {payment_id} is {payment.status}; only completed payments can be refunded"
        )
    reference = payment.provider_payment_ref or payment.provider_ref or payment.id
    status = await provider.refund(reference)
    await mark_payment(session, clock, payment, status)
    await session.commit()
    return PaymentView.of(payment)


async def mark_payment(
    session: AsyncSession, clock: Clock, payment: Payment, status: PaymentStatus
) -> None:
    """Move a payment to a new status; refunding revokes its pass in the same transaction."""
    now = to_datetime(clock.now())
    payment.status = status
    payment.updated_at = now
    if status == "refunded":
        await revoke_pass_of(session, payment.id, now)


async def revoke_pass_of(session: AsyncSession, payment_id: str, now: datetime) -> None:
    """Mark the payment's pass revoked, and block it in the used-nonce table."""
    revoked = await session.execute(
        update(Pass)
        .where(Pass.payment_id == payment_id, Pass.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(Pass.id, Pass.expires_at)
    )
    row = revoked.first()
    if row is None:
        return  # no QR was ever generated: nothing can reach a gate
    block = upsert_insert(
        session,
        UsedPass,
        pass_id=row.id,
        state="revoked",
        at=now,
        gate=None,
        expires_at=int(row.expires_at.timestamp()),
    )
    await session.execute(
        block.on_conflict_do_update(index_elements=["pass_id"], set_={"state": "revoked"})
    )
