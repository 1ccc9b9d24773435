"""A gate's decision on one scan: the value every verifier returns, and its JSON shape.

`/verify`, `gymgate verify` and the gate agent all answer with `decision_body(decision)`, so
a client reads the same fields whichever of them decided.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from gymgate.clock import to_iso
from gymgate.errors import TokenRejected
from gymgate.keystore import KeyLookup
from gymgate.tokens import PassClaims, TokenVerifier
from gymgate.vocabulary import DenyReason, Result

__all__ = [
    "Decision",
    "DecisionBody",
    "decision_body",
    "first_name",
    "token_fingerprint",
    "verify_offline",
]

Timestamp = Annotated[str, Meta(description="ISO 8601, UTC", examples=["2026-11-25T18:04:00Z"])]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gate should do, and why; a deny is a value, not an error.

    An allow from `verify_offline` means "signature, time and claims hold": only the
    used-pass table can turn it into an admission.
    """

    result: Result
    reason: DenyReason | None = None
    claims: PassClaims | None = None
    used_at: datetime | None = None
    used_gate: str | None = None
    # The member's first name, read in the admission's own transaction (never an email).
    holder: str | None = None

    @property
    def allowed(self) -> bool:
        return self.result == "allow"


class DecisionBody(Struct, omit_defaults=True):
    """The contract's /verify answer."""

    status: Result
    reason: DenyReason | None = None
    pass_id: str | None = None
    user_id: str | None = None
    expires_at: Timestamp | None = None
    holder: Annotated[str, Meta(description="the member's first name (allow only)")] | None = None
    used_at: Timestamp | None = None
    used_gate: str | None = None


def verify_offline(verifier: TokenVerifier, keyset: KeyLookup, token: str, now: float) -> Decision:
    """Allow (with the claims) if signature, time, claims and a bound pass's proof hold,
    else the deny. `token` is what the gate read: a token, or a bound pass's token~ts~sig."""
    try:
        return Decision("allow", claims=verifier.verify_scan(token, keyset, now))
    except TokenRejected as rejected:
        return Decision("deny", rejected.reason)


def first_name(name: str | None) -> str | None:
    """What a gate may say of a member: the first word of their name (None if they gave
    none), so staff can greet them without the screen showing anything more."""
    words = (name or "").split()
    return words[0][:64] if words else None


def decision_body(decision: Decision) -> DecisionBody:
    """The JSON a gate client reads for this decision; `holder` (a first name) only on an
    allow, never an email."""
    claims = decision.claims
    if decision.allowed and claims is not None:
        return DecisionBody(
            status="allow",
            pass_id=claims.pass_id,
            user_id=claims.user_id,
            expires_at=to_iso(claims.expires_at),
            holder=decision.holder,
        )
    return DecisionBody(
        status="deny",
        reason=decision.reason,
        pass_id=claims.pass_id if claims and decision.used_at else None,
        used_at=to_iso(decision.used_at) if decision.used_at else None,
        used_gate=decision.used_gate,
    )


def token_fingerprint(token: str) -> str:
    """SHA-256 of the token: lets an operator match a complaint to a row without storing it."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
