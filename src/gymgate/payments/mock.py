"""A provider that charges nobody: the outcome is whatever the caller asks to simulate."""

from __future__ import annotations

from gymgate.errors import InvalidInput
from gymgate.ids import new_id
from gymgate.payments.provider import Charge
from gymgate.vocabulary import PaymentStatus

__all__ = ["MockPaymentProvider"]

_SIMULATABLE: tuple[PaymentStatus, ...] = ("completed", "failed", "pending")


class MockPaymentProvider:
    """Answers at once with the simulated outcome (default `completed`)."""

    name = "mock"

    async def charge(
        self, *, amount_cents: int, currency: str, email: str, simulate: PaymentStatus | None
    ) -> Charge:
        outcome = simulate or "completed"
        if outcome not in _SIMULATABLE:
            raise InvalidInput(f"simulate must be one of {', '.join(_SIMULATABLE)}")
        return Charge(reference=new_id("mock_"), status=outcome)

    async def refund(self, reference: str) -> PaymentStatus:
        return "refunded"
