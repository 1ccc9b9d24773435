"""A member's phone in tests and benchmarks: its device key, and the codes its page shows.

Does in Python what web/member.js does with WebCrypto: an Ed25519 key (or P-256 where a
browser lacks Ed25519), its public JWK sent as `device_key`, and the code
`<token>~<ts>~<sig>` (gymgate.binding) with a signature in WebCrypto's raw form.
"""

from __future__ import annotations

import base64
from typing import Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gymgate.binding import device_key, proof_message, scanned_text

__all__ = ["Curve", "Phone"]

Curve = Literal["Ed25519", "P-256"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Phone:
    """One device key, as a member's browser would hold it (non-extractable there)."""

    def __init__(self, curve: Curve = "Ed25519", seed: int | None = None) -> None:
        """A new random key, or (with `seed`) the same key every time: for shared cases."""
        self.curve = curve
        self._ed25519: Ed25519PrivateKey | None = None
        self._p256: ec.EllipticCurvePrivateKey | None = None
        if curve == "Ed25519":
            self._ed25519 = (
                Ed25519PrivateKey.generate()
                if seed is None
                else Ed25519PrivateKey.from_private_bytes(seed.to_bytes(32, "big"))
            )
        elif seed is None:
            self._p256 = ec.generate_private_key(ec.SECP256R1())
        else:
            self._p256 = ec.derive_private_key(seed, ec.SECP256R1())

    @property
    def jwk(self) -> dict[str, str]:
        """The public key as WebCrypto's exportKey("jwk") gives it, minus ext and key_ops."""
        if self._ed25519 is not None:
            raw = self._ed25519.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
        assert self._p256 is not None
        numbers = self._p256.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }

    @property
    def jkt(self) -> str:
        return device_key(self.jwk).jkt

    def sign(self, message: bytes) -> bytes:
        """64 bytes: Ed25519, or ECDSA P-256/SHA-256 as r||s (WebCrypto's raw form)."""
        if self._ed25519 is not None:
            return self._ed25519.sign(message)
        assert self._p256 is not None
        r, s = decode_dss_signature(self._p256.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def show(self, token: str, pass_id: str, at: float) -> str:
        """The code the page draws at time `at` (already corrected to the server's clock)."""
        timestamp = int(at)
        return scanned_text(token, timestamp, self.sign(proof_message(pass_id, str(timestamp))))
