"""Payment providers: the interface the domain talks to, and its implementations."""

from gymgate.payments.configured import configured_provider
from gymgate.payments.mock import MockPaymentProvider
from gymgate.payments.provider import (
    Charge,
    PaymentEvent,
    PaymentProvider,
    ProviderError,
    WebhookRejected,
    WebhookSource,
)
from gymgate.payments.stripe import StripeProvider

__all__ = [
    "Charge",
    "MockPaymentProvider",
    "PaymentEvent",
    "PaymentProvider",
    "ProviderError",
    "StripeProvider",
    "WebhookRejected",
    "WebhookSource",
    "configured_provider",
]
