"""A paid pass handed to a phone wallet: the same pass, freshly signed, as a wallet pass."""

from __future__ import annotations

from gymgate.clock import to_datetime
from gymgate.services.passes import Passes
from gymgate.vocabulary import Wallet
from gymgate.wallet import WalletCard, Wallets

__all__ = ["WalletPasses"]


class WalletPasses:
    """Apple `.pkpass` files and Google save links for payments' passes."""

    def __init__(self, passes: Passes, wallets: Wallets, *, gym_name: str) -> None:
        self._passes = passes
        self._wallets = wallets
        self._gym_name = gym_name

    def offered(self) -> list[Wallet]:
        return self._wallets.offered()

    async def apple(self, payment_id: str) -> bytes:
        """The signed `.pkpass` of the payment's pass; NotFound when Apple Wallet is not
        offered (checked first: no pass is made for a wallet that cannot take it)."""
        wallet = self._wallets.apple_wallet()
        return wallet.pkpass(await self._card(payment_id))

    async def google(self, payment_id: str) -> str:
        """The "Save to Google Wallet" link of the payment's pass."""
        wallet = self._wallets.google_wallet()
        return wallet.save_url(await self._card(payment_id))

    async def _card(self, payment_id: str) -> WalletCard:
        """The pass as /generate_qr signs it (same pass_id, same expiry, one entry); the
        payment's checks (unknown, unpaid, refunded, expired) are Passes.issue's."""
        issued = await self._passes.issue(payment_id)
        return WalletCard(
            token=issued.token,
            pass_id=issued.pass_id,
            gym_name=self._gym_name,
            issued_at=to_datetime(int(issued.issued_at)),  # the instant it was signed
            expires_at=issued.expires_at,
        )
