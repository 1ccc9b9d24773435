"""Self-made wallet credentials for tests: a CA standing in for Apple's root, a WWDR-like
intermediate, a Pass Type ID certificate with its key (0600), and a Google service-account
JSON key (0600). Nothing here is Apple's or Google's; only the shapes are."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from gymgate.settings import Settings

__all__ = ["ISSUER_ID", "PASS_TYPE_ID", "SERVICE_ACCOUNT", "TEAM_ID", "WalletCredentials"]

PASS_TYPE_ID = "pass.example.gymgate"  # noqa: S105  (an identifier, not a password)
TEAM_ID = "A1B2C3D4E5"
ISSUER_ID = "3388000000022000000"
SERVICE_ACCOUNT = "wallet@gymgate-test.iam.gserviceaccount.com"
_PRIVATE = 0o600


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    """A certificate for `key`, signed by `issuer` (self-signed when None)."""
    now = datetime.now(UTC)
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    os.chmod(path, _PRIVATE)
    return path


@dataclass(frozen=True)
class WalletCredentials:
    """Files under one directory; `ca` verifies the .pkpass signature's chain."""

    ca: Path
    apple_cert: Path
    apple_key: Path
    wwdr: Path
    google_key: Path
    google_public_key: rsa.RSAPublicKey

    @classmethod
    def make(cls, directory: Path) -> WalletCredentials:
        directory.mkdir(parents=True, exist_ok=True)
        root_key, wwdr_key, signer_key, google_key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)
        )
        root = _certificate("Test Root CA", root_key, None, ca=True)
        wwdr = _certificate("Test WWDR Intermediate", wwdr_key, (root, root_key), ca=True)
        signer = _certificate(
            f"Pass Type ID: {PASS_TYPE_ID}", signer_key, (wwdr, wwdr_key), ca=False
        )
        (directory / "ca.pem").write_bytes(_pem(root))
        (directory / "wwdr.pem").write_bytes(_pem(wwdr))
        (directory / "pass.pem").write_bytes(_pem(signer))
        account = {
            "type": "service_account",
            "project_id": "gymgate-test",
            "private_key_id": "0123456789abcdef",
            "private_key": _key_pem(google_key).decode(),
            "client_email": SERVICE_ACCOUNT,
        }
        return cls(
            ca=directory / "ca.pem",
            apple_cert=directory / "pass.pem",
            apple_key=_write_private(directory / "pass.key", _key_pem(signer_key)),
            wwdr=directory / "wwdr.pem",
            google_key=_write_private(
                directory / "service-account.json", json.dumps(account).encode()
            ),
            google_public_key=google_key.public_key(),
        )

    def env(self) -> dict[str, str]:
        """The GYMGATE_* variables that turn both wallets on."""
        return {
            "GYMGATE_APPLE_PASS_CERT": str(self.apple_cert),
            "GYMGATE_APPLE_PASS_KEY": str(self.apple_key),
            "GYMGATE_APPLE_WWDR_CERT": str(self.wwdr),
            "GYMGATE_APPLE_PASS_TYPE_ID": PASS_TYPE_ID,
            "GYMGATE_APPLE_TEAM_ID": TEAM_ID,
            "GYMGATE_GOOGLE_WALLET_KEY": str(self.google_key),
            "GYMGATE_GOOGLE_WALLET_ISSUER_ID": ISSUER_ID,
        }

    def settings(self, base: Settings) -> Settings:
        """`base` with both wallets on."""
        return base.replace(
            apple_pass_cert=self.apple_cert,
            apple_pass_key=self.apple_key,
            apple_wwdr_cert=self.wwdr,
            apple_pass_type_id=PASS_TYPE_ID,
            apple_team_id=TEAM_ID,
            google_wallet_key=self.google_key,
            google_wallet_issuer_id=ISSUER_ID,
        )
