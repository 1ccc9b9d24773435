"""Settings.from_env: every GYMGATE_* variable parsed, typos and bad values fail by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from gymgate.errors import ConfigError
from gymgate.settings import ENV_PREFIX, SETTINGS_DOC, Settings


def test_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.database_url == "sqlite+aiosqlite:///gymgate.db"
    assert settings.keys_dir == Path("keys")
    assert settings.admin_token is None
    assert settings.pass_ttl_seconds == 86400
    assert settings.leeway_seconds == 30
    assert settings.issuer == "gymgate"
    assert settings.cors_origins == ()
    assert settings.rate_limit_per_minute == 0
    assert settings.write_limit_per_minute == 60
    assert settings.auth_failures_per_minute == 10
    assert settings.trusted_proxies == ()


def test_every_contract_variable_is_parsed_into_its_typed_field() -> None:
    settings = Settings.from_env(
        {
            "GYMGATE_DATABASE_URL": "postgresql+asyncpg://gym:pw@db.internal/gymgate",
            "GYMGATE_KEYS_DIR": "/srv/gymgate/keys",
            "GYMGATE_ADMIN_TOKEN": "an-admin-token-of-some-length",
            "GYMGATE_PASS_TTL_SECONDS": "3600",
            "GYMGATE_CORS_ORIGINS": "https://gym.example, http://localhost:5173",
        }
    )

    assert settings.database_url == "postgresql+asyncpg://gym:pw@db.internal/gymgate"
    assert settings.keys_dir == Path("/srv/gymgate/keys")
    assert settings.admin_token == "an-admin-token-of-some-length"
    assert settings.pass_ttl_seconds == 3600
    assert settings.cors_origins == ("https://gym.example", "http://localhost:5173")


def test_extra_variables_are_normalised() -> None:
    settings = Settings.from_env(
        {
            "GYMGATE_DEV_MODE": "yes",
            "GYMGATE_SQLITE_SYNCHRONOUS": "full",
            "GYMGATE_CURRENCY": "usd",
            "GYMGATE_LOG_LEVEL": "debug",
            "GYMGATE_LEEWAY_SECONDS": "0",
            "GYMGATE_RATE_LIMIT_PER_MINUTE": "0",
            "GYMGATE_KEY_RELOAD_SECONDS": "2",
            "GYMGATE_WRITE_LIMIT_PER_MINUTE": "0",
            "GYMGATE_AUTH_FAILURES_PER_MINUTE": "5",
            "GYMGATE_TRUSTED_PROXIES": " 10.0.0.1, 192.168.0.0/16 ,2001:db8::/32,,",
        }
    )

    assert settings.dev_mode is True
    assert settings.sqlite_synchronous == "FULL"
    assert settings.currency == "USD"
    assert settings.log_level == "DEBUG"
    assert settings.leeway_seconds == 0
    assert settings.rate_limit_per_minute == 0
    assert settings.key_reload_seconds == 2
    assert settings.write_limit_per_minute == 0
    assert settings.auth_failures_per_minute == 5
    assert settings.trusted_proxies == ("10.0.0.1/32", "192.168.0.0/16", "2001:db8::/32")


def test_variables_without_the_gymgate_prefix_are_ignored() -> None:
    settings = Settings.from_env({"PATH": "/usr/bin", "DATABASE_URL": "mysql://x", "HOME": "/"})

    assert settings == Settings()


def test_an_unknown_gymgate_variable_fails_naming_it() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"GYMGATE_PASS_TTL": "3600"})

    message = str(raised.value)
    assert message.startswith("GYMGATE_PASS_TTL is not a gymgate setting")
    assert "GYMGATE_PASS_TTL_SECONDS" in message  # the known names help fix the typo
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GYMGATE_DATABASE_URL", "mysql://root@localhost/gym"),
        ("GYMGATE_DATABASE_URL", "sqlite:///gymgate.db"),
        ("GYMGATE_KEYS_DIR", "   "),
        ("GYMGATE_ADMIN_TOKEN", ""),
        ("GYMGATE_PASS_TTL_SECONDS", "a day"),
        ("GYMGATE_PASS_TTL_SECONDS", "0"),
        ("GYMGATE_PASS_TTL_SECONDS", "-5"),
        ("GYMGATE_PASS_TTL_SECONDS", "1.5"),
        ("GYMGATE_CORS_ORIGINS", "gym.example"),
        ("GYMGATE_LEEWAY_SECONDS", "-1"),
        ("GYMGATE_CURRENCY", "EURO"),
        ("GYMGATE_DEV_MODE", "maybe"),
        ("GYMGATE_SQLITE_SYNCHRONOUS", "SOMETIMES"),
        ("GYMGATE_LOG_LEVEL", "LOUD"),
        ("GYMGATE_MAX_BODY_BYTES", "lots"),
        ("GYMGATE_MAX_HEADER_BYTES", "0"),
        ("GYMGATE_HEADER_TIMEOUT_SECONDS", "0"),
        ("GYMGATE_MAX_CONNECTIONS", "unlimited"),
        ("GYMGATE_WRITE_LIMIT_PER_MINUTE", "-1"),
        ("GYMGATE_AUTH_FAILURES_PER_MINUTE", "0"),
        ("GYMGATE_TRUSTED_PROXIES", "proxy.internal"),
        ("GYMGATE_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("GYMGATE_PASS_BINDING", "phone"),
        ("GYMGATE_PROOF_WINDOW_SECONDS", "0"),
        ("GYMGATE_PROOF_WINDOW_SECONDS", "301"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({name: value})

    message = str(raised.value)
    assert message.startswith(name)
    assert "is invalid" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://gym:hunter2@db.internal/gymgate",  # +asyncpg forgotten
        "postgres://gym@db.internal/gymgate?password=hunter2",
        "mysql://gym@db.internal/gymgate?ssl=1&SSLPassword=hunter2",
        "gym:hunter2@db.internal/gymgate",
        "host=db.internal user=gym password=hunter2",
    ],
)
def test_an_invalid_database_url_is_reported_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"GYMGATE_DATABASE_URL": url})

    message = str(raised.value)
    assert message.startswith("GYMGATE_DATABASE_URL='")
    assert "****" in message
    assert "hunter2" not in message


def test_an_invalid_admin_token_is_reported_without_its_value() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"GYMGATE_ADMIN_TOKEN": " \t "})

    assert str(raised.value) == "GYMGATE_ADMIN_TOKEN is invalid: must not be empty"


def test_every_setting_is_documented_and_shown() -> None:
    shown = Settings().masked()

    assert set(shown) == {ENV_PREFIX + key for key in SETTINGS_DOC}
    for variable in ("DATABASE_URL", "KEYS_DIR", "ADMIN_TOKEN", "PASS_TTL_SECONDS", "CORS_ORIGINS"):
        assert variable in SETTINGS_DOC
    assert all(line.strip() for line in SETTINGS_DOC.values())


def test_every_shown_variable_is_accepted_back_by_from_env() -> None:
    settings = Settings(admin_token="x" * 20, cors_origins=("https://a.example",))
    shown = {
        name: value
        for name, value in settings.masked().items()
        if name not in ("GYMGATE_ADMIN_TOKEN", "GYMGATE_WEB_DIR")
    }

    assert Settings.from_env(shown).replace(admin_token="x" * 20) == settings


def test_masked_hides_the_admin_token_and_database_password() -> None:
    settings = Settings(
        admin_token="super-secret-admin-token",
        database_url="postgresql+asyncpg://gym:hunter2@db.internal:5432/gymgate",
    )

    shown = settings.masked()

    assert shown["GYMGATE_ADMIN_TOKEN"] == "****"
    assert shown["GYMGATE_DATABASE_URL"] == "postgresql+asyncpg://gym:****@db.internal:5432/gymgate"
    assert not any("super-secret" in value or "hunter2" in value for value in shown.values())


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+asyncpg://gym@db.internal/gymgate?password=hunter2",
            "postgresql+asyncpg://gym@db.internal/gymgate?password=****",
        ),
        (
            "postgresql+asyncpg://gym@db/gymgate?ssl=require&PASSWORD=hunter2&timeout=5",
            "postgresql+asyncpg://gym@db/gymgate?ssl=require&PASSWORD=****&timeout=5",
        ),
        (
            "postgresql+asyncpg://gym:hunter2@db/gymgate?sslpassword=hunter2",
            "postgresql+asyncpg://gym:****@db/gymgate?sslpassword=****",
        ),
        (
            "postgresql+asyncpg://gym:hun@ter2@db/gymgate",  # a raw '@' in the password
            "postgresql+asyncpg://gym:****@db/gymgate",
        ),
    ],
)
def test_masked_hides_database_passwords_in_the_query_string_too(url: str, shown: str) -> None:
    assert Settings(database_url=url).masked()["GYMGATE_DATABASE_URL"] == shown


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///gymgate.db",
        "postgresql+asyncpg://gym@db.internal/gymgate?ssl=require",
        "postgresql+asyncpg://gym@db.internal/gymgate?my_password_file=/run/pw",
    ],
)
def test_masked_leaves_a_database_url_without_a_password_as_it_is(url: str) -> None:
    assert Settings(database_url=url).masked()["GYMGATE_DATABASE_URL"] == url


def test_masked_says_when_the_admin_token_is_not_set() -> None:
    assert Settings().masked()["GYMGATE_ADMIN_TOKEN"] == "(not set)"


def test_admin_token_is_kept_out_of_repr() -> None:
    assert "super-secret" not in repr(Settings(admin_token="super-secret-admin-token"))


def test_serving_without_an_admin_token_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^GYMGATE_ADMIN_TOKEN is not set"):
        Settings().check_for_serving()


def test_serving_with_a_short_admin_token_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^GYMGATE_ADMIN_TOKEN is too short"):
        Settings(admin_token="short").check_for_serving()


def test_serving_with_a_long_enough_admin_token_is_allowed() -> None:
    STRIPE.replace(admin_token="x" * 16).check_for_serving()


def test_serving_the_mock_provider_outside_dev_mode_is_refused_naming_the_variables() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings(admin_token="x" * 16).check_for_serving()

    message = str(refused.value)
    assert "\n" not in message
    assert "GYMGATE_PAYMENT_PROVIDER=mock" in message
    assert "GYMGATE_DEV_MODE=1" in message


def test_dev_mode_serves_the_mock_provider() -> None:
    Settings(admin_token="x" * 16, dev_mode=True).check_for_serving()


def test_dev_mode_serves_without_an_admin_token() -> None:
    Settings(dev_mode=True).check_for_serving()


STRIPE = Settings(
    payment_provider="stripe",
    stripe_secret_key="sk_test_x",
    stripe_webhook_secret="whsec_x",
    stripe_success_url="https://gym.example/paid",
)


def test_replace_returns_a_changed_copy() -> None:
    original = Settings()

    changed = original.replace(pass_ttl_seconds=60)

    assert changed.pass_ttl_seconds == 60
    assert original.pass_ttl_seconds == 86400


def test_wallet_settings_are_paths_and_identifiers_and_blank_means_unset() -> None:
    settings = Settings.from_env(
        {
            "GYMGATE_APPLE_PASS_CERT": "/etc/gymgate/pass.pem",
            "GYMGATE_APPLE_PASS_TYPE_ID": " pass.com.example.gym ",
            "GYMGATE_GOOGLE_WALLET_KEY": "",
        }
    )

    assert settings.apple_pass_cert == Path("/etc/gymgate/pass.pem")
    assert settings.apple_pass_type_id == "pass.com.example.gym"
    assert settings.google_wallet_key is None
    assert settings.google_wallet_class == "day_pass"
    with pytest.raises(ConfigError, match=r"^GYMGATE_APPLE_TEAM_ID='A1 B2' is invalid"):
        Settings.from_env({"GYMGATE_APPLE_TEAM_ID": "A1 B2"})


def test_pass_binding_and_its_proof_window_are_read() -> None:
    settings = Settings.from_env(
        {"GYMGATE_PASS_BINDING": "Device", "GYMGATE_PROOF_WINDOW_SECONDS": "300"}
    )
    assert (settings.binding_mode, settings.proof_window_seconds) == ("device", 300)
    assert (Settings().binding_mode, Settings().proof_window_seconds) == ("none", 30)
