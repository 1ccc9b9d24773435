"""Pass tokens: sign with the active Ed25519 key, verify against a KeySet with PyJWT.

Verification runs in the contract's order and stops at the first failure, each failure
mapping to exactly one deny reason:
    parse     → malformed        (shape, base64url, JSON, forbidden header fields)
    header    → bad_signature    (alg other than EdDSA: a token we never sign)
              → unknown_key      (kid missing or not in *our* key set)
    signature → bad_signature
              → malformed        (duplicate JSON names or NaN, read strictly once signed)
    time      → expired / not_yet_valid  (with leeway; exp/iat missing or not integers
                                          → invalid_claims)
    claims    → invalid_claims   (iss, sub, jti; a `cnf` that is not a device key)
A bound pass's proof is checked after this, by gymgate.binding (see `verify_scan`).
Time is checked here against the caller's clock, not PyJWT's, so tests never sleep.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.exceptions import PyJWTError
from jwt.utils import base64url_decode

from gymgate.binding import (
    DEFAULT_PROOF_WINDOW_SECONDS,
    MAX_PROOF_LENGTH,
    DeviceKey,
    check_proof,
    device_key_of_claims,
    split_scan,
)
from gymgate.errors import KeyStoreError, TokenRejected
from gymgate.keystore import KeyLookup, KeySet

__all__ = ["ALGORITHM", "MAX_TOKEN_LENGTH", "PassClaims", "TokenVerifier", "issue_token"]

ALGORITHM = "EdDSA"
MAX_TOKEN_LENGTH = 2048
MAX_ID_LENGTH = 64
# Largest timestamp we accept (year 9999); beyond it datetime arithmetic breaks.
MAX_TIMESTAMP = 253_402_300_799

# Three unpadded base64url segments (the signature may be empty: alg "none" is a forgery,
# denied bad_signature at the header step like any other alg we never sign with).
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# An Ed25519 signature is 64 bytes = 86 characters whose last one carries 2 padding bits;
# only A, Q, g or w leave them zero, so this makes the signature text canonical (no second
# spelling of the same token). Checked after alg and kid, so an HS256 forgery is not
# mistaken for junk.
_ED25519_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{85}[AQgw]")
# By segment length mod 4: the characters a segment may end with (its unused low bits
# zero); a length of 1 mod 4 is never base64url; a multiple of 4 has no unused bits.
_LAST_CHARACTERS: dict[int, frozenset[str]] = {
    0: frozenset(),
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}
# Header fields that would change how PyJWT reads the token; we support none of them.
_FORBIDDEN_HEADERS = frozenset({"crit", "b64"})

_jws = jwt.PyJWS()
# PyJWT's own EdDSA verifier, made once. _parse_header has already checked all three
# segments, so the signature step uses it directly instead of a full PyJWT decode.
_EDDSA = _jws.get_algorithm_by_name(ALGORITHM)


@dataclass(frozen=True, slots=True)
class PassClaims:
    """What a verified token says: which pass, whose, until when, signed by which key."""

    pass_id: str
    user_id: str
    issued_at: int
    expires_at: int
    kid: str
    device: DeviceKey | None = None  # the phone a bound pass is bound to (its cnf)

    @property
    def jkt(self) -> str | None:
        """The bound phone's key thumbprint; None for a plain pass."""
        return None if self.device is None else self.device.jkt


def issue_token(
    keyset: KeySet,
    *,
    issuer: str,
    pass_id: str,
    user_id: str,
    issued_at: int,
    expires_at: int,
    device: DeviceKey | None = None,
) -> str:
    """A compact EdDSA JWT for the pass, signed by the active key; bound to `device`'s key
    (RFC 7800 cnf) when one is given."""
    kid = keyset.active_kid
    if keyset.signing_key is None or kid is None:
        raise KeyStoreError("no active signing key: run `gymgate keys rotate`")
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": user_id,
        "jti": pass_id,
        "iat": issued_at,
        "exp": expires_at,
    }
    if device is not None:
        claims["cnf"] = {"jwk": dict(device.jwk)}
    return jwt.encode(claims, keyset.signing_key, algorithm=ALGORITHM, headers={"kid": kid})


class TokenVerifier:
    """Checks tokens offline: signature and time against a KeySet, nothing else."""

    def __init__(
        self,
        *,
        issuer: str,
        leeway_seconds: int,
        max_lifetime_seconds: int | None = None,
        proof_window_seconds: int = DEFAULT_PROOF_WINDOW_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.leeway = leeway_seconds
        # How far a bound pass's proof may be from now, either way (gymgate.binding).
        self.proof_window = proof_window_seconds
        # A token may not live longer than a pass does (plus leeway): a signed "year 9999"
        # would otherwise outlive every used-pass row that stops its second use.
        self.max_lifetime = max_lifetime_seconds

    @classmethod
    def for_passes(
        cls,
        *,
        issuer: str,
        leeway_seconds: int,
        pass_ttl_seconds: int,
        proof_window_seconds: int = DEFAULT_PROOF_WINDOW_SECONDS,
    ) -> TokenVerifier:
        """The verifier for gymgate's own passes: no token longer-lived than a pass."""
        return cls(
            issuer=issuer,
            leeway_seconds=leeway_seconds,
            max_lifetime_seconds=pass_ttl_seconds + leeway_seconds,
            proof_window_seconds=proof_window_seconds,
        )

    def verify_scan(self, scanned: str, keyset: KeyLookup, now: float) -> PassClaims:
        """What a gate read (a token, or a bound pass's token~ts~sig): the claims, or
        TokenRejected. The token's rules first, then the phone's proof."""
        if not isinstance(scanned, str) or len(scanned) > MAX_TOKEN_LENGTH + MAX_PROOF_LENGTH:
            raise TokenRejected("malformed", "not a gymgate pass")
        code = split_scan(scanned)
        claims = self.verify(code.token, keyset, now)
        check_proof(claims.device, code.proof, claims.pass_id, now, self.proof_window)
        return claims

    def verify(self, token: str, keyset: KeyLookup, now: float) -> PassClaims:
        """The token's claims, or TokenRejected with the contract's deny reason."""
        header = _parse_header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("bad_signature", "only EdDSA-signed tokens are accepted")
        kid = header.get("kid")
        key = keyset.verification_key(kid) if isinstance(kid, str) else None
        if key is None or not isinstance(kid, str):
            raise TokenRejected("unknown_key", "the token's kid is not one of our keys")
        claims = _verified_payload(token, key)
        expires_at, issued_at = self._check_time(claims, now)
        pass_id, user_id = self._check_claims(claims)
        device = device_key_of_claims(claims)
        return PassClaims(pass_id, user_id, issued_at, expires_at, kid, device)

    def _check_time(self, claims: dict[str, Any], now: float) -> tuple[int, int]:
        expires_at = _timestamp(claims, "exp")
        issued_at = _timestamp(claims, "iat")
        if now > expires_at + self.leeway:
            raise TokenRejected("expired", "the pass has expired")
        if issued_at > now + self.leeway:
            raise TokenRejected("not_yet_valid", "the token was issued in the future")
        if "nbf" in claims and _timestamp(claims, "nbf") > now + self.leeway:
            raise TokenRejected("not_yet_valid", "the token is not valid yet")
        if issued_at > expires_at:
            raise TokenRejected("invalid_claims", "iat is after exp")
        if self.max_lifetime is not None and expires_at - issued_at > self.max_lifetime:
            raise TokenRejected("invalid_claims", "the token lives longer than any pass")
        return expires_at, issued_at

    def _check_claims(self, claims: dict[str, Any]) -> tuple[str, str]:
        if claims.get("iss") != self.issuer:
            raise TokenRejected("invalid_claims", "the token was issued by someone else")
        return _identifier(claims, "jti"), _identifier(claims, "sub")


def _parse_header(token: Any) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("malformed", "not a gymgate pass")
    if _COMPACT_JWS.fullmatch(token) is None:
        raise TokenRejected("malformed", "not a compact JWS")
    # The pattern has checked every character's alphabet, so the header is decoded here
    # rather than by PyJWT, which checks each character of all three segments again: a
    # cost per scan that grows with the token (a bound pass's cnf makes it longer).
    if not all(_canonical_base64url(segment) for segment in token.split(".")):
        raise TokenRejected("malformed", "a token segment is not canonical base64url")
    # Read strictly, and only here: the header picks the key (kid), so a duplicate name must
    # not let two verifiers pick two keys; the signed bytes are these same bytes.
    try:
        header = _strict_json(base64url_decode(token.partition(".")[0]))
    except (ValueError, RecursionError):
        raise TokenRejected(
            "malformed", "the token header is unreadable (or has duplicate names)"
        ) from None
    if not isinstance(header, dict) or not isinstance(header.get("kid", ""), str):
        raise TokenRejected("malformed", "the token header is not a JWS header")
    if _FORBIDDEN_HEADERS & header.keys():
        raise TokenRejected("malformed", "unsupported critical header")
    return header


def _canonical_base64url(segment: str) -> bool:
    """A length base64url can have, and no unused bit set in the last character: one
    spelling per byte string (the alphabet is the caller's to check)."""
    spare_bits = _LAST_CHARACTERS.get(len(segment) % 4)
    return spare_bits is not None and (not spare_bits or segment[-1] in spare_bits)


def _verified_payload(token: str, key: Any) -> dict[str, Any]:
    signing_input, _, signature = token.rpartition(".")
    if _ED25519_SIGNATURE.fullmatch(signature) is None:
        raise TokenRejected("malformed", "not a canonical Ed25519 signature")
    try:
        verified = _EDDSA.verify(
            signing_input.encode(), _EDDSA.prepare_key(key), base64url_decode(signature)
        )
    except PyJWTError:
        raise TokenRejected("malformed", "the token payload is unreadable") from None
    if not verified:
        raise TokenRejected("bad_signature", "the signature does not match")
    try:
        claims = _strict_json(base64url_decode(signing_input.partition(".")[2]))
    except ValueError:
        raise TokenRejected("malformed", "the token has duplicate or non-JSON fields") from None
    if not isinstance(claims, dict):
        raise TokenRejected("malformed", "the token payload is not an object")
    return claims


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate name")
    return document


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _strict_json(data: bytes) -> Any:
    """Signed JSON read strictly: parsers disagree on duplicate names (first or last wins?)
    and on NaN/Infinity, so one signed text could name two passes to two verifiers."""
    return json.loads(data, object_pairs_hook=_unique_names, parse_constant=_not_json)


def _timestamp(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if type(value) is not int or not 0 <= value <= MAX_TIMESTAMP:
        raise TokenRejected("invalid_claims", f"{name} must be a whole number of seconds")
    return value


def _identifier(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise TokenRejected("invalid_claims", f"{name} must be a short non-empty string")
    return value
