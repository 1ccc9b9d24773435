"""GYMGATE_PAYMENT_PROVIDER picks the provider; stripe without its secrets stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gymgate.cli import main
from gymgate.errors import ConfigError
from gymgate.payments import MockPaymentProvider, StripeProvider, configured_provider
from gymgate.settings import Settings
from tests.conftest import ADMIN_TOKEN

STRIPE = {
    "GYMGATE_PAYMENT_PROVIDER": "stripe",
    "GYMGATE_STRIPE_SECRET_KEY": "sk_test_do_not_print",
    "GYMGATE_STRIPE_WEBHOOK_SECRET": "whsec_do_not_print",
    "GYMGATE_STRIPE_SUCCESS_URL": "https://gym.example/paid",
}


def test_the_mock_is_the_default() -> None:
    assert isinstance(configured_provider(Settings()), MockPaymentProvider)


def test_stripe_with_its_settings_is_a_stripe_provider() -> None:
    provider = configured_provider(Settings.from_env(STRIPE))

    assert isinstance(provider, StripeProvider)


@pytest.mark.parametrize(
    "missing",
    ["GYMGATE_STRIPE_SECRET_KEY", "GYMGATE_STRIPE_WEBHOOK_SECRET", "GYMGATE_STRIPE_SUCCESS_URL"],
)
def test_stripe_without_a_required_setting_names_it(missing: str) -> None:
    settings = Settings.from_env({**STRIPE, missing: ""})  # blank, as an env file may leave it

    with pytest.raises(ConfigError, match=missing):
        configured_provider(settings)
    with pytest.raises(ConfigError, match=missing):
        settings.check_for_serving()


def test_an_unknown_provider_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="GYMGATE_PAYMENT_PROVIDER"):
        Settings.from_env({"GYMGATE_PAYMENT_PROVIDER": "paypal"})


def test_serve_refuses_stripe_without_its_secret_in_one_line(tmp_path: Path) -> None:
    env = {**STRIPE, "GYMGATE_ADMIN_TOKEN": ADMIN_TOKEN, "GYMGATE_KEYS_DIR": str(tmp_path)}
    del env["GYMGATE_STRIPE_WEBHOOK_SECRET"]

    result = CliRunner().invoke(main, ["serve"], env=env)

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: GYMGATE_STRIPE_WEBHOOK_SECRET is not set: GYMGATE_PAYMENT_PROVIDER=stripe needs it"
    ]


def test_config_show_masks_the_stripe_secrets() -> None:
    result = CliRunner().invoke(main, ["config", "show"], env=STRIPE)

    assert result.exit_code == 0, result.output
    assert "GYMGATE_STRIPE_SECRET_KEY=****" in result.output
    assert "GYMGATE_STRIPE_WEBHOOK_SECRET=****" in result.output
    assert "do_not_print" not in result.output
