"""Payment providers: the interface the domain talks to, and its implementations."""

from gymgate.payments.mock import MockPaymentProvider
from gymgate.payments.provider import (
    PAYMENT_STATUSES,
    Charge,
    PaymentProvider,
    PaymentStatus,
    ProviderError,
)

__all__ = [
    "PAYMENT_STATUSES",
    "Charge",
    "MockPaymentProvider",
    "PaymentProvider",
    "PaymentStatus",
    "ProviderError",
]
