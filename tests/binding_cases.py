"""Hostile codes of bound passes, and the exact decision each must get from every verifier.

`build_cases(keyset, now)` makes them signed by any key set at any time, so the Python
verifiers (/verify, `gymgate verify`, the gate agent) are tested against their own keys and
clocks. `python -m tests.binding_cases` writes the same list, made with fixed keys, to
tests/binding_cases.json for the scanner page's offline verifier (web/scan), so the
browser is held to the very same cases:

    {"now", "window", "issuer", "leeway_seconds", "pass_ttl_seconds", "jwks",
     "cases": [{"name", "scanned", "status", "reason", "rebound": [{"pass_id", "jkt"}],
                "boundary"}]}

A case's `rebound` is the gate state's list of passes moved to another phone; `boundary`
marks a proof exactly at the window's edge, meaningful only where the clock is injected.
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from testkit.phones import Phone

from gymgate.binding import device_key, proof_message, scanned_text
from gymgate.keystore import KeyEntry, KeySet, kid_for
from gymgate.tokens import ALGORITHM, issue_token
from gymgate.vocabulary import DenyReason

__all__ = ["CASES_FILE", "BindingCase", "build_cases", "fixed_keyset"]

CASES_FILE = Path(__file__).with_name("binding_cases.json")
WINDOW = 30
ISSUER = "gymgate"
# A fixed moment (2027-01-14T08:00:00Z) for the JSON cases.
FIXED_NOW = 1_799_913_600
# Outside the window by this much: a second ticking between making and checking a code
# cannot move such a case across the edge.
MARGIN = 5


@dataclass(frozen=True)
class BindingCase:
    name: str
    scanned: str
    reason: DenyReason | None  # None: allow
    rebound: dict[str, str] = field(default_factory=dict)  # pass_id → jkt it is on now
    boundary: bool = False

    @property
    def status(self) -> str:
        return "allow" if self.reason is None else "deny"


def fixed_keyset() -> KeySet:
    """The server key of the JSON cases (its private half is in this file: tests only)."""
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    entry = KeyEntry(kid_for(private.public_key()), "", "active", private.public_key())
    return KeySet((entry,), private)


class _Workbench:
    """Tokens and proofs for one key set and one moment."""

    def __init__(self, keyset: KeySet, now: int) -> None:
        self.keyset = keyset
        self.now = now
        self.phone = Phone("Ed25519", seed=1)
        self.other_phone = Phone("Ed25519", seed=2)
        self.p256 = Phone("P-256", seed=3)
        self.other_p256 = Phone("P-256", seed=4)

    def token(self, pass_id: str, phone: Phone | None = None) -> str:
        device = None if phone is None else device_key(phone.jwk)
        return issue_token(
            self.keyset,
            issuer=ISSUER,
            pass_id=pass_id,
            user_id="usr_case",
            issued_at=self.now - 60,
            expires_at=self.now + 3600,
            device=device,
        )

    def token_with_cnf(self, pass_id: str, cnf: Any) -> str:
        """A token whose cnf is anything, signed with our key: a signer bug, say."""
        assert self.keyset.signing_key is not None
        assert self.keyset.active_kid is not None
        claims = {
            "iss": ISSUER,
            "sub": "usr_case",
            "jti": pass_id,
            "iat": self.now - 60,
            "exp": self.now + 3600,
            "cnf": cnf,
        }
        return jwt.encode(
            claims,
            self.keyset.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self.keyset.active_kid},
        )

    def shown(
        self, pass_id: str, phone: Phone, at: int | None = None, signs: str | None = None
    ) -> str:
        """The phone's code for its bound pass at `at`; `signs` overrides the signed jti."""
        at = self.now if at is None else at
        signature = phone.sign(proof_message(signs or pass_id, str(at)))
        return scanned_text(self.token(pass_id, phone), at, signature)

    def with_proof(
        self, pass_id: str, timestamp: str, signature: str, phone: Phone | None = None
    ) -> str:
        """A token bound to `phone` (default: ours) with a hand-made proof."""
        return "~".join((self.token(pass_id, phone or self.phone), timestamp, signature))

    def signature(self, pass_id: str, timestamp: str, phone: Phone | None = None) -> str:
        signed = (phone or self.phone).sign(proof_message(pass_id, timestamp))
        return base64.urlsafe_b64encode(signed).rstrip(b"=").decode()


def build_cases(keyset: KeySet, now: int, window: int = WINDOW) -> list[BindingCase]:
    """Every case, signed by `keyset`'s active key, for a verifier whose clock says `now`."""
    bench = _Workbench(keyset, now)
    return _allowed(bench, window) + _denied_format(bench) + _denied_proof(bench, window)


def _allowed(b: _Workbench, window: int) -> list[BindingCase]:
    p = b.phone
    return [
        BindingCase("ed25519_fresh_proof", b.shown("pas_ed25519_fresh", p), None),
        BindingCase("p256_fresh_proof", b.shown("pas_p256_fresh", b.p256), None),
        BindingCase("plain_pass_without_proof", b.token("pas_plain"), None),
        BindingCase(
            "oldest_proof_in_window",
            b.shown("pas_edge_old", p, b.now - window),
            None,
            boundary=True,
        ),
        BindingCase(
            "newest_proof_in_window",
            b.shown("pas_edge_new", p, b.now + window),
            None,
            boundary=True,
        ),
        BindingCase(
            "leading_zero_signed_as_shown",
            b.with_proof("pas_zero", f"0{b.now}", b.signature("pas_zero", f"0{b.now}")),
            None,
        ),
        BindingCase(
            "rebound_list_names_this_phone",
            b.shown("pas_still_here", p),
            None,
            rebound={"pas_still_here": p.jkt},
        ),
    ]


def _denied_format(b: _Workbench) -> list[BindingCase]:
    good_sig = b.signature("pas_fmt", str(b.now))
    return [
        BindingCase("empty_code", "", "malformed"),
        BindingCase("one_separator", b.token("pas_fmt1", b.phone) + "~" + str(b.now), "malformed"),
        BindingCase(
            "four_parts", b.with_proof("pas_fmt2", str(b.now), good_sig) + "~x", "malformed"
        ),
        BindingCase("separators_only", "~~", "malformed"),
        BindingCase("time_not_digits", b.with_proof("pas_fmt3", "12a", good_sig), "malformed"),
        BindingCase("time_negative", b.with_proof("pas_fmt4", "-5", good_sig), "malformed"),
        BindingCase("time_13_digits", b.with_proof("pas_fmt5", "1" * 13, good_sig), "malformed"),
        BindingCase("time_empty", b.with_proof("pas_fmt6", "", good_sig), "malformed"),
        BindingCase(
            "signature_85_chars", b.with_proof("pas_fmt7", str(b.now), good_sig[:85]), "malformed"
        ),
        BindingCase(
            "signature_padded", b.with_proof("pas_fmt8", str(b.now), good_sig + "=="), "malformed"
        ),
        BindingCase(
            "signature_not_canonical",
            b.with_proof("pas_fmt9", str(b.now), good_sig[:85] + "B"),
            "malformed",
        ),
        BindingCase(
            "signature_plain_base64",
            b.with_proof("pas_fmt10", str(b.now), "+" + good_sig[1:]),
            "malformed",
        ),
        BindingCase("too_long", b.shown("pas_fmt11", b.phone) + "~" + "A" * 200, "malformed"),
    ]


def _denied_proof(b: _Workbench, window: int) -> list[BindingCase]:
    p, jwk, now = b.phone, b.phone.jwk, str(b.now)
    stolen = b.shown("pas_other", p).split("~", 1)[1]
    return [
        BindingCase("proof_stripped", b.token("pas_stripped", p), "invalid_claims"),
        BindingCase(
            "proof_on_plain_pass",
            b.token("pas_plain_proof") + "~" + b.shown("pas_plain_proof", p).split("~", 1)[1],
            "invalid_claims",
        ),
        BindingCase(
            "cnf_rsa_key",
            b.token_with_cnf("pas_rsa", {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
            "invalid_claims",
        ),
        BindingCase(
            "cnf_ed448",
            b.token_with_cnf("pas_ed448", {"jwk": {**jwk, "crv": "Ed448"}}),
            "invalid_claims",
        ),
        BindingCase(
            "cnf_extra_member",
            b.token_with_cnf("pas_extra", {"jwk": {**jwk, "kid": "k"}}),
            "invalid_claims",
        ),
        BindingCase(
            "cnf_private_key",
            b.token_with_cnf("pas_priv", {"jwk": {**jwk, "d": jwk["x"]}}),
            "invalid_claims",
        ),
        BindingCase(
            "cnf_jkt_beside_jwk",
            b.token_with_cnf("pas_jkt", {"jwk": jwk, "jkt": p.jkt}),
            "invalid_claims",
        ),
        BindingCase(
            "cnf_not_canonical_x",
            b.token_with_cnf("pas_x", {"jwk": {**jwk, "x": jwk["x"][:42] + "B"}}),
            "invalid_claims",
        ),
        BindingCase(
            "cnf_p256_off_curve",
            b.token_with_cnf("pas_curve", {"jwk": {**b.p256.jwk, "y": b.p256.jwk["x"]}}),
            "invalid_claims",
        ),
        BindingCase(
            "wrong_key",
            b.with_proof("pas_wrong", now, b.signature("pas_wrong", now, b.other_phone)),
            "bad_signature",
        ),
        BindingCase(
            "p256_wrong_key",
            b.with_proof(
                "pas_p256_bad", now, b.signature("pas_p256_bad", now, b.other_p256), b.p256
            ),
            "bad_signature",
        ),
        BindingCase(
            "swapped_pass_id",
            b.shown("pas_swapped", p, signs="pas_someone_else"),
            "bad_signature",
        ),
        BindingCase(
            "proof_of_another_pass", b.token("pas_mine", p) + "~" + stolen, "bad_signature"
        ),
        BindingCase(
            "leading_zero_added_after_signing",
            b.with_proof("pas_zero2", f"0{b.now}", b.signature("pas_zero2", str(b.now))),
            "bad_signature",
        ),
        BindingCase(
            "stale_screenshot",
            b.shown("pas_stale", p, b.now - window - MARGIN),
            "expired",
        ),
        BindingCase(
            "just_too_old", b.shown("pas_old", p, b.now - window - 1), "expired", boundary=True
        ),
        BindingCase(
            "future_proof", b.shown("pas_future", p, b.now + window + MARGIN), "not_yet_valid"
        ),
        BindingCase(
            "just_too_new",
            b.shown("pas_new", p, b.now + window + 1),
            "not_yet_valid",
            boundary=True,
        ),
        BindingCase(
            "moved_to_another_phone",
            b.shown("pas_moved", p),
            "revoked",
            rebound={"pas_moved": b.other_phone.jkt},
        ),
    ]


def as_json(cases: list[BindingCase], keyset: KeySet, now: int) -> dict[str, Any]:
    return {
        "now": now,
        "window": WINDOW,
        "issuer": ISSUER,
        "leeway_seconds": 30,
        "pass_ttl_seconds": 86400,
        "jwks": keyset.jwks(),
        "cases": [
            {
                "name": case.name,
                "scanned": case.scanned,
                "status": case.status,
                "reason": case.reason,
                "rebound": [{"pass_id": k, "jkt": v} for k, v in case.rebound.items()],
                "boundary": case.boundary,
            }
            for case in cases
        ],
    }


if __name__ == "__main__":
    keyset = fixed_keyset()
    document = as_json(build_cases(keyset, FIXED_NOW), keyset, FIXED_NOW)
    CASES_FILE.write_text(json.dumps(document, indent=1) + "\n")
    sys.stdout.write(f"{len(document['cases'])} cases written to {CASES_FILE}\n")
