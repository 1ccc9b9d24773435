"""The provider named by GYMGATE_PAYMENT_PROVIDER, built from its settings."""

from __future__ import annotations

from gymgate.payments.mock import MockPaymentProvider
from gymgate.payments.provider import PaymentProvider
from gymgate.payments.stripe import StripeProvider
from gymgate.settings import Settings

__all__ = ["configured_provider"]


def configured_provider(settings: Settings) -> PaymentProvider:
    """The mock, or a StripeProvider; raises ConfigError if stripe lacks a secret."""
    if settings.payment_provider != "stripe":
        return MockPaymentProvider()
    settings.check_payment_provider()
    # check_payment_provider() has just made sure these are set
    assert settings.stripe_secret_key is not None
    assert settings.stripe_webhook_secret is not None
    assert settings.stripe_success_url is not None
    return StripeProvider(
        secret_key=settings.stripe_secret_key,
        webhook_secret=settings.stripe_webhook_secret,
        success_url=settings.stripe_success_url,
        api_base=settings.stripe_api_base,
    )
