"""Google Wallet: a "Save to Google Wallet" link, i.e. a JWT signed by a service account.

The link https://pay.google.com/gp/v/save/<jwt> carries the whole pass: Google checks the
signature against the service account's public key, creates the pass class on first use
and the pass object (`<issuer id>.<pass id>`), and shows the QR of our token. Nothing is
sent to Google by this server; the member's phone follows the link.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gymgate.clock import to_iso
from gymgate.errors import ConfigError
from gymgate.settings import ENV_PREFIX
from gymgate.wallet.card import BACKGROUND_RGB, ENTRY, REFUNDS, TITLE, WalletCard
from gymgate.wallet.files import read_private_file

__all__ = ["SAVE_URL", "GoogleWallet"]

SAVE_URL = "https://pay.google.com/gp/v/save/"
_SETTING = "GOOGLE_WALLET_KEY"


class GoogleWallet:
    """Signs save links with one service account for one issuer's pass class."""

    def __init__(
        self,
        *,
        service_account: str,
        private_key: rsa.RSAPrivateKey,
        key_id: str | None,
        issuer_id: str,
        class_suffix: str,
        origin: str,
    ) -> None:
        self._service_account = service_account
        self._key = private_key
        self._key_id = key_id
        self._class_id = f"{issuer_id}.{class_suffix}"
        self._issuer_id = issuer_id
        self._origin = origin

    @classmethod
    def from_file(
        cls, key_file: Path, *, issuer_id: str, class_suffix: str, origin: str
    ) -> GoogleWallet:
        """Load a service account's JSON key (as the Cloud console downloads it); ConfigError
        naming GYMGATE_GOOGLE_WALLET_KEY when it is unreadable, shared or not such a key."""
        account = _service_account(read_private_file(key_file, _SETTING))
        if account is None:
            raise ConfigError(
                f"{ENV_PREFIX}{_SETTING}={str(key_file)!r} is not a service account JSON key "
                "(client_email and an RSA private_key)"
            )
        email, key, key_id = account
        return cls(
            service_account=email,
            private_key=key,
            key_id=key_id,
            issuer_id=issuer_id,
            class_suffix=class_suffix,
            origin=origin,
        )

    def save_url(self, card: WalletCard) -> str:
        """The link that puts the card in the member's Google Wallet."""
        return SAVE_URL + self.save_jwt(card)

    def save_jwt(self, card: WalletCard) -> str:
        """The signed JWT of the save link (RS256, audience "google", typ savetowallet)."""
        claims = {
            "iss": self._service_account,
            "aud": "google",
            "typ": "savetowallet",
            "iat": int(card.issued_at.timestamp()),
            # Google refuses the link when opened from a page of another origin.
            "origins": [self._origin],
            "payload": {
                "genericClasses": [{"id": self._class_id}],
                "genericObjects": [self._object(card)],
            },
        }
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)

    def _object(self, card: WalletCard) -> dict[str, Any]:
        """The pass object: the QR of the token, valid until the pass expires."""
        return {
            "id": f"{self._issuer_id}.{card.pass_id}",
            "classId": self._class_id,
            "state": "ACTIVE",
            "cardTitle": _text(card.gym_name),
            "header": _text(TITLE),
            "subheader": _text(ENTRY),
            "hexBackgroundColor": "#{:02x}{:02x}{:02x}".format(*BACKGROUND_RGB),
            "barcode": {"type": "QR_CODE", "value": card.token, "alternateText": card.short_id},
            "validTimeInterval": {
                "start": {"date": to_iso(card.issued_at)},
                "end": {"date": to_iso(card.expires_at)},
            },
            "textModulesData": [{"id": "refunds", "header": "Refunds", "body": REFUNDS}],
        }


def _service_account(data: bytes) -> tuple[str, rsa.RSAPrivateKey, str | None] | None:
    """(client_email, private key, private_key_id) of a JSON key file, or None if it is not one."""
    try:
        account = json.loads(data)
        email, pem = account["client_email"], account["private_key"]
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(email, str) or not isinstance(key, rsa.RSAPrivateKey):
        return None
    key_id = account.get("private_key_id")
    return email, key, key_id if isinstance(key_id, str) else None


def _text(value: str) -> dict[str, Any]:
    """Google's localised string, in the one language the member page speaks."""
    return {"defaultValue": {"language": "en", "value": value}}
