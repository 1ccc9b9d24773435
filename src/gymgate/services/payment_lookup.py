"""Finding payments for the front desk: by member email, name or payment id, with where
each one's pass stands, so an operator can pick the right one to refund."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from gymgate.clock import Clock
from gymgate.models import Pass, Payment, UsedPass, User
from gymgate.services.passes import pass_state
from gymgate.services.payments import normalise_email
from gymgate.storage import Storage
from gymgate.vocabulary import PassState, PaymentStatus

__all__ = ["FoundPayment", "PaymentLookup"]


@dataclass(frozen=True, slots=True)
class FoundPayment:
    payment_id: str
    user_id: str
    email: str
    name: str | None
    status: PaymentStatus
    amount_cents: int
    currency: str
    created_at: datetime
    pass_id: str | None  # None until the member first shows the QR
    pass_state: PassState | None
    used_at: datetime | None
    used_gate: str | None


class PaymentLookup:
    """Payments newest first, with their member and pass state; reads only."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def find(
        self, *, email: str | None = None, search: str | None = None, limit: int = 50
    ) -> list[FoundPayment]:
        """Payments of exactly `email`, and/or those whose id is `search` or whose member's
        email or name contains it (any case)."""
        query = (
            select(Payment, User, Pass, UsedPass)
            .join(User, User.id == Payment.user_id)
            .outerjoin(Pass, Pass.payment_id == Payment.id)
            .outerjoin(UsedPass, UsedPass.pass_id == Pass.id)
        )
        if email:
            query = query.where(User.email == normalise_email(email))
        if search:
            needle = search.strip().lower()
            query = query.where(
                or_(
                    Payment.id == search.strip(),
                    func.lower(User.email).contains(needle, autoescape=True),
                    func.lower(User.name).contains(needle, autoescape=True),
                )
            )
        query = query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
        async with self._storage.reading() as session:
            rows = (await session.execute(query)).all()
        now = self._clock.now()
        return [
            self._found(payment, user, the_pass, used, now)
            for payment, user, the_pass, used in rows
        ]

    @staticmethod
    def _found(
        payment: Payment, user: User, the_pass: Pass | None, used: UsedPass | None, now: float
    ) -> FoundPayment:
        admitted = used if used is not None and used.state == "used" else None
        return FoundPayment(
            payment_id=payment.id,
            user_id=user.id,
            email=user.email,
            name=user.name,
            status=payment.status,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            created_at=payment.created_at,
            pass_id=the_pass.id if the_pass else None,
            pass_state=pass_state(the_pass, used, now) if the_pass else None,
            used_at=admitted.at if admitted else None,
            used_gate=admitted.gate if admitted else None,
        )
