"""Payment providers: the interface the domain talks to, and its implementations."""

from gymgate.payments.configured import configured_provider
from gymgate.payments.mock import MockPaymentProvider
from gymgate.payments.provider import (
    PAYMENT_STATUSES,
    Charge,
    PaymentEvent,
    PaymentProvider,
    PaymentStatus,
    ProviderError,
    WebhookRejected,
    WebhookSource,
)
from gymgate.payments.stripe import StripeProvider

__all__ = [
    "PAYMENT_STATUSES",
    "Charge",
    "MockPaymentProvider",
    "PaymentEvent",
    "PaymentProvider",
    "PaymentStatus",
    "ProviderError",
    "StripeProvider",
    "WebhookRejected",
    "WebhookSource",
    "configured_provider",
]
