"""What gymgate needs from a payment provider; nothing provider-specific leaks past this.

A new provider (Stripe, Adyen, …) is one module implementing PaymentProvider. Providers that
confirm asynchronously return `pending` from `charge()` and report the outcome later: such
a provider is also a WebhookSource, turning a signed request into a PaymentEvent (or raising
WebhookRejected), and the payment-events service moves the payment on. The mock answers at
once and has no webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gymgate.errors import GymgateError
from gymgate.vocabulary import PaymentStatus

__all__ = [
    "Charge",
    "PaymentEvent",
    "PaymentProvider",
    "ProviderError",
    "WebhookRejected",
    "WebhookSource",
]


class ProviderError(GymgateError):
    """The provider refused or could not be reached; nothing was charged or refunded."""


class WebhookRejected(GymgateError):
    """A webhook request that is not provably the provider's: unsigned, forged, stale, garbled."""


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


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified provider event about one payment, in gymgate's terms.

    `references` are the provider ids that may name the payment (a checkout session, a payment
    intent); `settled_reference` is the id to keep for refunds once the payment is paid.
    `status` is None for event types gymgate does not act on.
    """

    event_id: str
    kind: str
    status: PaymentStatus | None
    references: tuple[str, ...] = ()
    settled_reference: str | None = None


@runtime_checkable
class WebhookSource(Protocol):
    """A provider that reports outcomes by signed webhook requests."""

    name: str

    def parse_event(self, payload: bytes, headers: Mapping[str, str], now: float) -> PaymentEvent:
        """Check the request's signature and freshness, then read the event; or WebhookRejected."""
        ...
