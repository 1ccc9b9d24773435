"""Wallet passes: the member's pass, same token, in Apple Wallet or Google Wallet."""

from gymgate.wallet.apple import AppleWallet
from gymgate.wallet.card import WalletCard
from gymgate.wallet.configured import Wallets, configured_wallets, wallets_allowed
from gymgate.wallet.google import GoogleWallet

__all__ = [
    "AppleWallet",
    "GoogleWallet",
    "WalletCard",
    "Wallets",
    "configured_wallets",
    "wallets_allowed",
]
