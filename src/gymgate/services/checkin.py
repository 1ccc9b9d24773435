"""Checking a pass in at a gate: verify offline, then admit at most once, always audited.

The admission decision is the INSERT into the used-nonce table: a primary-key conflict means
the pass was used (or revoked) before. That insert and the audit row share one transaction,
committed before the caller answers, so there is no read-then-write race between scanners,
processes or servers, and no answer without its audit row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import Clock, to_datetime
from gymgate.db import insert_unless_exists
from gymgate.errors import DenyReason, TokenRejected
from gymgate.keystore import KeySet
from gymgate.models import AuditEvent, UsedPass
from gymgate.tokens import PassClaims, TokenVerifier

__all__ = ["Decision", "check_in", "delete_expired_used_passes", "token_fingerprint"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gate should do, and why; a deny is a value, not an error."""

    result: Literal["allow", "deny"]
    reason: DenyReason | None = None
    claims: PassClaims | None = None
    used_at: datetime | None = None
    used_gate: str | None = None

    @property
    def allowed(self) -> bool:
        return self.result == "allow"


def token_fingerprint(token: str) -> str:
    """SHA-256 of the token: lets an operator match a complaint to a row without storing it."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def verify_offline(
    verifier: TokenVerifier, keyset: KeySet, token: str, now: float
) -> Decision | PassClaims:
    """The claims if signature, time and claims hold, else the deny decision."""
    try:
        return verifier.verify(token, keyset, now)
    except TokenRejected as rejected:
        return Decision("deny", rejected.reason)


async def check_in(
    session: AsyncSession,
    verifier: TokenVerifier,
    keyset: KeySet,
    clock: Clock,
    *,
    token: str,
    gate: str,
) -> Decision:
    """Decide and record one scan; the audit row is committed before this returns."""
    now = clock.now()
    checked = verify_offline(verifier, keyset, token, now)
    if isinstance(checked, Decision):
        decision = checked
    else:
        decision = await _admit_once(session, checked, gate, now)
    claims = decision.claims
    await session.execute(
        insert(AuditEvent).values(
            at=to_datetime(now),
            gate=gate,
            result=decision.result,
            reason=decision.reason,
            pass_id=claims.pass_id if claims else None,
            user_id=claims.user_id if claims else None,
            kid=claims.kid if claims else None,
            token_sha256=token_fingerprint(token),
        )
    )
    await session.commit()
    return decision


async def _admit_once(session: AsyncSession, claims: PassClaims, gate: str, now: float) -> Decision:
    admitted = await session.execute(
        insert_unless_exists(
            session,
            UsedPass,
            ["pass_id"],
            pass_id=claims.pass_id,
            state="used",
            at=to_datetime(now),
            gate=gate,
            expires_at=claims.expires_at,
        ).returning(UsedPass.pass_id)
    )
    if admitted.first() is not None:
        return Decision("allow", claims=claims)
    earlier = (
        await session.execute(
            select(UsedPass.state, UsedPass.at, UsedPass.gate).where(
                UsedPass.pass_id == claims.pass_id
            )
        )
    ).one()
    if earlier.state == "revoked":
        return Decision("deny", "revoked", claims)
    return Decision("deny", "already_used", claims, earlier.at, earlier.gate)


async def delete_expired_used_passes(session: AsyncSession, now: float, leeway: int) -> int:
    """Forget used passes whose tokens can no longer verify anyway; returns how many."""
    result = await session.execute(delete(UsedPass).where(UsedPass.expires_at < int(now) - leeway))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
