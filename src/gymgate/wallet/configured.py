"""The wallets this server offers, built once from the settings at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gymgate.errors import ConfigError, NotFound
from gymgate.settings import ENV_PREFIX, WALLET_SETTINGS, Settings
from gymgate.vocabulary import WALLETS, Wallet
from gymgate.wallet.apple import AppleWallet
from gymgate.wallet.google import GoogleWallet

__all__ = ["Wallets", "configured_wallets", "wallets_allowed"]

_NAMES: dict[Wallet, str] = {"apple": "Apple Wallet", "google": "Google Wallet"}


@dataclass(frozen=True, slots=True)
class Wallets:
    """Each wallet, or None when this server does not offer it."""

    apple: AppleWallet | None = None
    google: GoogleWallet | None = None

    def offered(self) -> list[Wallet]:
        """The wallets members may use here, for /info and the member page."""
        return [name for name in WALLETS if getattr(self, name) is not None]

    def apple_wallet(self) -> AppleWallet:
        if self.apple is None:
            raise _not_offered("apple")
        return self.apple

    def google_wallet(self) -> GoogleWallet:
        if self.google is None:
            raise _not_offered("google")
        return self.google


def wallets_allowed(settings: Settings) -> bool:
    """Whether passes may go into a wallet at all, however well the wallets are configured.

    The one place to say no: a wallet holds the plain token, outside this server's reach, so
    any setting that ties a pass to something else (a device) must turn wallets off here.
    """
    return settings.binding_mode != "device"


def configured_wallets(settings: Settings) -> Wallets:
    """Every wallet whose settings are all set, loaded and checked; ConfigError (one line,
    naming the variables) when a wallet is set only in part or its files are unusable."""
    apple = _apple(settings) if _complete(settings, "apple") else None
    google = _google(settings) if _complete(settings, "google") else None
    if not wallets_allowed(settings):
        return Wallets()
    return Wallets(apple=apple, google=google)


def _complete(settings: Settings, wallet: Wallet) -> bool:
    """True when all the wallet's settings are set, False when none is; else ConfigError."""
    names = WALLET_SETTINGS[wallet]
    missing = [name for name in names if getattr(settings, name) is None]
    if missing and len(missing) < len(names):
        listed = ", ".join(ENV_PREFIX + name.upper() for name in missing)
        raise ConfigError(
            f"{_NAMES[wallet]} is configured only in part: set {listed} too, or unset "
            + ", ".join(ENV_PREFIX + name.upper() for name in names if name not in missing)
        )
    return not missing


def _apple(settings: Settings) -> AppleWallet:
    cert, key, wwdr, pass_type_id, team_id = _values(settings, "apple")
    return AppleWallet.from_files(
        cert=cert, key=key, wwdr=wwdr, pass_type_id=pass_type_id, team_id=team_id
    )


def _google(settings: Settings) -> GoogleWallet:
    key_file, issuer_id = _values(settings, "google")
    return GoogleWallet.from_file(
        key_file,
        issuer_id=issuer_id,
        class_suffix=settings.google_wallet_class,
        origin=settings.public_url,
    )


def _values(settings: Settings, wallet: Wallet) -> list[Any]:
    """The wallet's settings in WALLET_SETTINGS order (_complete() found them all set)."""
    return [getattr(settings, name) for name in WALLET_SETTINGS[wallet]]


def _not_offered(wallet: Wallet) -> NotFound:
    return NotFound(
        f"{_NAMES[wallet]} passes are not offered here: the gym has not set them up; "
        "show the QR code on this page at the turnstile instead"
    )
