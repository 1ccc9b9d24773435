"""What gymgate needs from a payment provider; nothing provider-specific leaks past this.

A new provider (Stripe, Adyen, …) is one module implementing PaymentProvider. Providers that
confirm asynchronously return `pending` from `charge()` and report the outcome later (a
webhook moves the payment on); the mock answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from gymgate.errors import GymgateError

__all__ = ["PAYMENT_STATUSES", "Charge", "PaymentProvider", "PaymentStatus", "ProviderError"]

PaymentStatus = Literal["pending", "completed", "failed", "refunded"]
PAYMENT_STATUSES: tuple[PaymentStatus, ...] = ("pending", "completed", "failed", "refunded")


class ProviderError(GymgateError):
    """The provider refused or could not be reached; nothing was charged or refunded."""


@dataclass(frozen=True, slots=True)
class Charge:
    """The provider's answer to a charge: its reference, the status, where to pay (if any)."""

    reference: str
    status: PaymentStatus
    checkout_url: str | None = None


class PaymentProvider(Protocol):
    """A payment provider as the domain sees it."""

    name: str

    async def charge(
        self, *, amount_cents: int, currency: str, email: str, simulate: PaymentStatus | None
    ) -> Charge:
        """Start a charge; `simulate` is honoured by test providers only."""
        ...

    async def refund(self, reference: str) -> PaymentStatus:
        """Refund a completed charge; the new status (normally `refunded`)."""
        ...
