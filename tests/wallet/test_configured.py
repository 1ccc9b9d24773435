"""Which wallets a server offers: all of a wallet's settings or none; a part, a shared private
key, a key that is not the certificate's or a file that is not what it claims stops start-up
with one line naming the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testkit.wallet_credentials import ISSUER_ID, WalletCredentials

from gymgate.errors import ConfigError
from gymgate.settings import Settings
from gymgate.wallet import configured_wallets
from tests.api.helpers import run_cli


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> WalletCredentials:
    return WalletCredentials.make(tmp_path_factory.mktemp("wallet"))


@pytest.fixture
def both(credentials: WalletCredentials) -> Settings:
    return credentials.settings(Settings(dev_mode=True))


def refusal(settings: Settings) -> str:
    with pytest.raises(ConfigError) as raised:
        configured_wallets(settings)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_no_wallet_settings_offer_no_wallet() -> None:
    assert configured_wallets(Settings()).offered() == []


def test_every_setting_of_both_wallets_offers_both(both: Settings) -> None:
    assert configured_wallets(both).offered() == ["apple", "google"]


def test_passes_bound_to_phones_go_to_no_wallet_but_settings_are_still_checked(
    both: Settings,
) -> None:
    # A wallet holds the plain token: a screenshot of it would open the gate.
    bound = both.replace(binding_mode="device")

    assert configured_wallets(bound).offered() == []
    assert "configured only in part" in refusal(bound.replace(apple_team_id=None))


def test_apple_set_in_part_is_refused_naming_what_is_missing(both: Settings) -> None:
    message = refusal(both.replace(apple_wwdr_cert=None, apple_team_id=None))

    assert message.startswith("Apple Wallet is configured only in part")
    assert "set GYMGATE_APPLE_WWDR_CERT, GYMGATE_APPLE_TEAM_ID too" in message


def test_google_set_in_part_is_refused_naming_what_is_missing(both: Settings) -> None:
    message = refusal(both.replace(google_wallet_key=None))

    assert "Google Wallet is configured only in part" in message
    assert "GYMGATE_GOOGLE_WALLET_KEY" in message


@pytest.mark.parametrize(
    ("setting", "variable"),
    [
        ("apple_pass_key", "GYMGATE_APPLE_PASS_KEY"),
        ("google_wallet_key", "GYMGATE_GOOGLE_WALLET_KEY"),
    ],
)
def test_a_private_key_others_may_read_is_refused(
    both: Settings, tmp_path: Path, setting: str, variable: str
) -> None:
    shared = tmp_path / "shared"
    shared.write_bytes(Path(getattr(both, setting)).read_bytes())
    shared.chmod(0o644)

    message = refusal(both.replace(**{setting: shared}))

    assert message.startswith(f"{variable}=")
    assert "has mode 644" in message
    assert f"chmod 600 {shared}" in message


def test_a_key_that_is_not_the_certificates_is_refused(both: Settings, tmp_path: Path) -> None:
    other = WalletCredentials.make(tmp_path / "other")

    message = refusal(both.replace(apple_pass_key=other.apple_key))

    assert "GYMGATE_APPLE_PASS_KEY" in message
    assert "is not the key of the certificate" in message


@pytest.mark.parametrize(
    ("setting", "variable", "words"),
    [
        ("apple_pass_cert", "GYMGATE_APPLE_PASS_CERT", "not an X.509 certificate"),
        ("apple_wwdr_cert", "GYMGATE_APPLE_WWDR_CERT", "not an X.509 certificate"),
        ("apple_pass_key", "GYMGATE_APPLE_PASS_KEY", "not an unencrypted PEM private key"),
        ("google_wallet_key", "GYMGATE_GOOGLE_WALLET_KEY", "not a service account JSON key"),
    ],
)
def test_a_file_that_is_not_what_it_should_be_is_refused(
    both: Settings, tmp_path: Path, setting: str, variable: str, words: str
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text(json.dumps({"client_email": "x@example.com", "private_key": "nope"}))
    wrong.chmod(0o600)

    message = refusal(both.replace(**{setting: wrong}))

    assert message.startswith(f"{variable}=")
    assert words in message


def test_a_missing_file_is_refused_naming_the_variable(both: Settings, tmp_path: Path) -> None:
    message = refusal(both.replace(apple_pass_cert=tmp_path / "absent.pem"))

    assert message.startswith("GYMGATE_APPLE_PASS_CERT=")
    assert "cannot be read" in message


def test_serve_stops_at_start_up_on_a_wallet_set_in_part(tmp_path: Path) -> None:
    result = run_cli(
        {
            "GYMGATE_DEV_MODE": "1",
            "GYMGATE_KEYS_DIR": str(tmp_path / "keys"),
            "GYMGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gymgate.db'}",
            "GYMGATE_GOOGLE_WALLET_ISSUER_ID": ISSUER_ID,
        },
        "serve",
    )

    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "Google Wallet is configured only in part" in line
    assert "GYMGATE_GOOGLE_WALLET_KEY" in line
    assert not (tmp_path / "gymgate.db").exists(), "stopped before touching the database"
