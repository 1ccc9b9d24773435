"""Apple Wallet: a signed `.pkpass` (a zip of pass.json, images, manifest.json, signature).

Apple's format: manifest.json maps every other file to its SHA-1; `signature` is a detached
PKCS#7 (DER) signature of manifest.json by the Pass Type ID certificate, carrying Apple's
WWDR intermediate so the phone can chain it to Apple's root. Without a valid signature
Wallet refuses the pass, so the certificate and key are checked to match at start-up.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from gymgate.clock import to_iso
from gymgate.errors import ConfigError
from gymgate.settings import ENV_PREFIX
from gymgate.wallet.card import BACKGROUND_RGB, ENTRY, FOREGROUND_RGB, REFUNDS, TITLE, WalletCard
from gymgate.wallet.files import read_certificate, read_private_file
from gymgate.wallet.images import mark_png

__all__ = ["MEDIA_TYPE", "AppleWallet"]

MEDIA_TYPE = "application/vnd.apple.pkpass"
SignerKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class AppleWallet:
    """Makes `.pkpass` files signed with one Pass Type ID certificate."""

    def __init__(
        self,
        *,
        certificate: x509.Certificate,
        private_key: SignerKey,
        wwdr: x509.Certificate,
        pass_type_id: str,
        team_id: str,
    ) -> None:
        self._certificate = certificate
        self._key = private_key
        self._wwdr = wwdr
        self._pass_type_id = pass_type_id
        self._team_id = team_id

    @classmethod
    def from_files(
        cls, *, cert: Path, key: Path, wwdr: Path, pass_type_id: str, team_id: str
    ) -> AppleWallet:
        """Load the PEM files named by the settings; ConfigError (one line, naming the
        variable) when one is unreadable, the key is not private, or it does not match."""
        certificate = read_certificate(cert, "APPLE_PASS_CERT")
        private_key = _signer_key(read_private_file(key, "APPLE_PASS_KEY"), key)
        if private_key.public_key() != certificate.public_key():
            raise ConfigError(
                f"{ENV_PREFIX}APPLE_PASS_KEY={str(key)!r} is not the key of the certificate in "
                f"{ENV_PREFIX}APPLE_PASS_CERT={str(cert)!r}"
            )
        return cls(
            certificate=certificate,
            private_key=private_key,
            wwdr=read_certificate(wwdr, "APPLE_WWDR_CERT"),
            pass_type_id=pass_type_id,
            team_id=team_id,
        )

    def pkpass(self, card: WalletCard) -> bytes:
        """The `.pkpass` archive for the card: every file at the zip's root."""
        files = {"pass.json": json.dumps(self.pass_json(card), indent=1).encode(), **_images()}
        manifest = json.dumps(
            {name: hashlib.sha1(data).hexdigest() for name, data in files.items()},  # noqa: S324
            indent=1,
        ).encode()
        files["manifest.json"] = manifest
        files["signature"] = self._sign(manifest)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name, data in files.items():
                zipped.writestr(name, data)
        return archive.getvalue()

    def pass_json(self, card: WalletCard) -> dict[str, Any]:
        """pass.json: an event ticket whose QR holds the pass's token."""
        return {
            "formatVersion": 1,
            "passTypeIdentifier": self._pass_type_id,
            "teamIdentifier": self._team_id,
            "serialNumber": card.pass_id,
            "organizationName": card.gym_name,
            "description": f"{card.gym_name} {TITLE.lower()}",
            "logoText": card.gym_name,
            "backgroundColor": _rgb(BACKGROUND_RGB),
            "foregroundColor": _rgb(FOREGROUND_RGB),
            "labelColor": _rgb(FOREGROUND_RGB),
            # One entry: a copy AirDropped to a friend would only race the member to the gate.
            "sharingProhibited": True,
            "barcodes": [
                {
                    "format": "PKBarcodeFormatQR",
                    "message": card.token,
                    "messageEncoding": "iso-8859-1",
                    "altText": card.short_id,
                }
            ],
            # Wallet greys the pass out after this; the gate refuses it anyway.
            "expirationDate": to_iso(card.expires_at),
            "relevantDate": to_iso(card.issued_at),
            "eventTicket": {
                "primaryFields": [{"key": "pass", "label": TITLE.upper(), "value": ENTRY}],
                "secondaryFields": [
                    {
                        "key": "valid_until",
                        "label": "VALID UNTIL",
                        "value": to_iso(card.expires_at),
                        "dateStyle": "PKDateStyleMedium",
                        "timeStyle": "PKDateStyleShort",
                    }
                ],
                "auxiliaryFields": [{"key": "id", "label": "PASS", "value": card.short_id}],
                "backFields": [{"key": "refunds", "label": "Refunds", "value": REFUNDS}],
            },
        }

    def _sign(self, manifest: bytes) -> bytes:
        """Detached PKCS#7 over the manifest's exact bytes (Binary: no MIME line-ending
        canonicalisation), signing time included, the WWDR certificate attached."""
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(manifest)
            .add_signer(self._certificate, self._key, hashes.SHA256())
            .add_certificate(self._wwdr)
            .sign(
                serialization.Encoding.DER,
                [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
            )
        )


def _signer_key(data: bytes, path: Path) -> SignerKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{ENV_PREFIX}APPLE_PASS_KEY={str(path)!r} is not an unencrypted PEM private key "
            "(decrypt it with `openssl pkey -in KEY -out KEY.pem`)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{ENV_PREFIX}APPLE_PASS_KEY={str(path)!r} is not an RSA or EC key")
    return key


@cache
def _images() -> dict[str, bytes]:
    """The icon (shown on the lock screen and in notifications) and the logo, drawn once."""
    return {
        "icon.png": mark_png(29),
        "icon@2x.png": mark_png(58),
        "icon@3x.png": mark_png(87),
        "logo.png": mark_png(50),
        "logo@2x.png": mark_png(100),
    }


def _rgb(color: tuple[int, int, int]) -> str:
    return f"rgb({color[0]}, {color[1]}, {color[2]})"
