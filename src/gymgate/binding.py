"""Passes bound to a phone: the device key (RFC 7800 `cnf`), its thumbprint, and the proof.

A bound pass is a normal pass token with `"cnf": {"jwk": <the phone's public key>}`. What
its QR shows, and what a gate reads, is `<JWS>~<ts>~<sig>`: the token untouched, a Unix
second, and the phone's signature over `gymgate-proof.<jti>.<ts>`. A screenshot stops
working once `ts` leaves the proof window; a copy of the token alone lacks the proof.

This module is the one place the format and its rules live (the scanner page's offline
verifier mirrors it, tested against tests/binding_cases.json):

    split_scan   one part: no proof; three parts: a proof; anything else → malformed
    (the JWS is verified by gymgate.tokens, which reads `cnf` with `device_key`)
    check_proof  cnf without proof, or proof without cnf      → invalid_claims
                 ts not 1-12 digits, sig not 64 canonical bytes → malformed
                 signature not by the cnf key over this jti/ts → bad_signature
                 ts older than the window                      → expired
                 ts further ahead than the window              → not_yet_valid
The re-binding check (the pass moved to another phone → revoked) needs state, so it is
done where revocations are: the used-pass admission and the gate's local store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gymgate.errors import InvalidInput, TokenRejected

__all__ = [
    "DEFAULT_PROOF_WINDOW_SECONDS",
    "MAX_PROOF_WINDOW_SECONDS",
    "PROOF_SEPARATOR",
    "DeviceKey",
    "Proof",
    "ScannedCode",
    "check_proof",
    "device_key",
    "device_key_for_issue",
    "device_key_of_claims",
    "moved_away",
    "proof_message",
    "scanned_text",
    "split_scan",
    "thumbprint",
]

PROOF_SEPARATOR = "~"  # never in a compact JWS (base64url and dots only)
PROOF_CONTEXT = "gymgate-proof"  # a proof can never be mistaken for another signature
DEFAULT_PROOF_WINDOW_SECONDS = 30
MAX_PROOF_WINDOW_SECONDS = 300
# A proof adds at most 1 + 12 + 1 + 86 characters to the token.
MAX_PROOF_LENGTH = 100

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# 64 bytes = 86 base64url characters; the last carries 2 padding bits, zero only for
# A, Q, g or w: one spelling per signature.
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{85}[AQgw]")
# 32 bytes = 43 characters; the last carries 2 padding bits. One spelling per key, so one
# thumbprint per key.
_COORDINATE = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")

KeyType = Literal["Ed25519", "P-256"]
# The members a device JWK has, by curve, in RFC 7638 thumbprint order.
_MEMBERS: dict[KeyType, tuple[str, ...]] = {
    "Ed25519": ("crv", "kty", "x"),
    "P-256": ("crv", "kty", "x", "y"),
}
_MEMBER_SETS = {curve: frozenset(members) for curve, members in _MEMBERS.items()}
_KTY: dict[KeyType, str] = {"Ed25519": "OKP", "P-256": "EC"}
# WebCrypto's exportKey("jwk") adds these; they say nothing about the key, so issuance
# drops them rather than refusing a browser's own export.
_EXPORT_EXTRAS = frozenset({"ext", "key_ops"})


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A phone's public key, as the pass's `cnf` holds it, and its RFC 7638 thumbprint."""

    curve: KeyType
    jwk: Mapping[str, str]  # exactly the thumbprint members
    jkt: str
    public_key: Ed25519PublicKey | ec.EllipticCurvePublicKey

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            if isinstance(self.public_key, Ed25519PublicKey):
                self.public_key.verify(signature, message)
            else:
                r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                der = encode_dss_signature(r, s)
                self.public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Proof:
    timestamp: str  # the decimal text as scanned: the signature covers these exact bytes
    signature: str


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """What a gate read: the pass token, and the phone's proof if the code carries one."""

    token: str
    proof: Proof | None


def device_key(jwk: Any) -> DeviceKey:
    """The device key a JWK names; ValueError (with a human reason) for anything else.

    Only Ed25519 (OKP) and P-256 (EC) public keys, with exactly their members: a private
    key, another curve, or an extra member is refused, so one key has one thumbprint.
    """
    if type(jwk) is not dict or not all(type(v) is str for v in jwk.values()):
        raise ValueError("a device key must be a JSON object of strings (a public JWK)")
    if "d" in jwk:
        raise ValueError("that is a private key: send only the public part")
    curve = _curve_of(jwk)
    if jwk.keys() != _MEMBER_SETS[curve]:
        raise ValueError(f"a {curve} device key has exactly the members {_MEMBERS[curve]}")
    coordinates = [jwk[name] for name in ("x", "y") if name in jwk]
    if not all(_COORDINATE.fullmatch(value) for value in coordinates):
        raise ValueError("the key's coordinates are not 32 bytes of canonical base64url")
    raw = [_b64decode(value) for value in coordinates]
    public_key = _public_key(curve, raw)
    canonical = {name: jwk[name] for name in _MEMBERS[curve]}
    return DeviceKey(curve, canonical, thumbprint(canonical), public_key)


def device_key_for_issue(jwk: Any | None) -> DeviceKey | None:
    """`device_key` for a key a member's page sent (None: it sent none): WebCrypto's export
    extras dropped, anything wrong an InvalidInput (a 400)."""
    if jwk is None:
        return None
    if type(jwk) is dict:
        jwk = {name: value for name, value in jwk.items() if name not in _EXPORT_EXTRAS}
    try:
        return device_key(jwk)
    except ValueError as error:
        raise InvalidInput(f"device_key: {error}") from None


def device_key_of_claims(claims: Mapping[str, Any]) -> DeviceKey | None:
    """The token's `cnf` key (None for a plain pass); invalid_claims if it is not one."""
    if "cnf" not in claims:
        return None
    cnf = claims["cnf"]
    if type(cnf) is not dict or cnf.keys() != {"jwk"}:
        raise TokenRejected("invalid_claims", "cnf must hold exactly one jwk")
    try:
        return device_key(cnf["jwk"])
    except ValueError:
        raise TokenRejected("invalid_claims", "cnf is not a supported device key") from None


def moved_away(current_jkt: str | None, token_jkt: str | None) -> bool:
    """True when a bound token's phone is no longer the pass's: the pass moved (re-bound),
    so the token is revoked. A plain token, or a pass with no recorded binding, never is."""
    if current_jkt is None or token_jkt is None:
        return False
    # Thumbprints are public, but compare them like secrets anyway: no habit to unlearn.
    return not hmac.compare_digest(current_jkt.encode(), token_jkt.encode())


def thumbprint(members: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members in order, no whitespace, base64url.

    Written out rather than by json.dumps (a third of a key's parsing time): `device_key`
    has checked that every value is base64url or a fixed name, so none needs escaping."""
    text = ",".join(f'"{name}":"{members[name]}"' for name in sorted(members))
    return _b64encode(hashlib.sha256(f"{{{text}}}".encode()).digest())


def split_scan(text: str) -> ScannedCode:
    """A scanned code's parts; malformed unless it is a token, or a token~ts~sig."""
    parts = text.split(PROOF_SEPARATOR)
    if len(parts) == 1:
        return ScannedCode(text, None)
    if len(parts) == 3:
        return ScannedCode(parts[0], Proof(parts[1], parts[2]))
    raise TokenRejected("malformed", "a code is a token, or a token~time~signature")


def proof_message(pass_id: str, timestamp: str) -> bytes:
    """The bytes a phone signs to prove it holds the pass's key right now."""
    return f"{PROOF_CONTEXT}.{pass_id}.{timestamp}".encode()


def scanned_text(token: str, timestamp: int, signature: bytes) -> str:
    """What a bound pass's QR shows: the token, the proof's second, its signature."""
    return PROOF_SEPARATOR.join((token, str(timestamp), _b64encode(signature)))


def check_proof(
    device: DeviceKey | None, proof: Proof | None, pass_id: str, now: float, window: int
) -> None:
    """Raise TokenRejected unless the proof fits the token (see the module docstring)."""
    if device is None and proof is None:
        return
    if device is None:
        raise TokenRejected("invalid_claims", "a proof on a pass not bound to a phone")
    if proof is None:
        raise TokenRejected("invalid_claims", "a pass bound to a phone, shown without its proof")
    if _TIMESTAMP.fullmatch(proof.timestamp) is None:
        raise TokenRejected("malformed", "the proof's time is not a whole number of seconds")
    if _SIGNATURE.fullmatch(proof.signature) is None:
        raise TokenRejected("malformed", "the proof's signature is not 64 bytes of base64url")
    message = proof_message(pass_id, proof.timestamp)
    if not device.verifies(_b64decode(proof.signature), message):
        raise TokenRejected("bad_signature", "the proof is not signed by the pass's phone")
    signed_at = int(proof.timestamp)
    if signed_at < now - window:
        raise TokenRejected("expired", "the proof is too old: a picture of an earlier code")
    if signed_at > now + window:
        raise TokenRejected("not_yet_valid", "the proof is from the future")


def _curve_of(jwk: Mapping[str, str]) -> KeyType:
    for curve, kty in _KTY.items():
        if jwk.get("kty") == kty and jwk.get("crv") == curve:
            return curve
    raise ValueError("a device key is an Ed25519 (OKP) or P-256 (EC) public JWK")


def _public_key(curve: KeyType, raw: list[bytes]) -> Ed25519PublicKey | ec.EllipticCurvePublicKey:
    try:
        if curve == "Ed25519":
            return Ed25519PublicKey.from_public_bytes(raw[0])
        x, y = (int.from_bytes(value, "big") for value in raw)
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError:
        raise ValueError("the key is not a point on its curve") from None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
