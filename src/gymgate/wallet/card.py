"""What a wallet pass shows, whichever wallet holds it: the words are written once here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ENTRY", "REFUNDS", "TITLE", "WalletCard"]

TITLE = "Day pass"
ENTRY = "One entry"
REFUNDS = "Refunds: ask at the front desk before you use the pass."
# The page's dark bar and white text, so the pass looks like the gym's member page.
BACKGROUND_RGB = (20, 23, 28)
FOREGROUND_RGB = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class WalletCard:
    """One pass as a wallet shows it. The token is the very one the member page's QR holds,
    so a gate admits the wallet's code once, like any other picture of the pass."""

    token: str
    pass_id: str
    gym_name: str
    issued_at: datetime
    expires_at: datetime

    @property
    def short_id(self) -> str:
        """The first characters of the pass id, what staff read out (as the member page)."""
        return self.pass_id[:6]
