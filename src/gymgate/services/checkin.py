"""Checking a pass in at a gate: verify offline, then admit at most once, always audited.

The admission decision is the INSERT into the used-nonce table: a primary-key conflict means
the pass was used (or revoked) before. That insert and the audit row share one transaction,
committed before the caller answers, so there is no read-then-write race between scanners,
processes or servers, and no answer without its audit row.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import Clock, to_datetime
from gymgate.db import Database
from gymgate.errors import DenyReason, TokenRejected
from gymgate.keystore import KeyLookup
from gymgate.models import UsedPass
from gymgate.tokens import PassClaims, TokenVerifier

__all__ = ["Decision", "check_in", "delete_expired_used_passes", "token_fingerprint"]

# The check-in is the hot path, so its SQL is written out per backend and run on the driver:
# SQLAlchemy's per-statement work cost more than SQLite's. Timestamps are stored the way
# UtcDateTime stores them (naive UTC, SQLAlchemy's SQLite text format), so the ORM reads
# these rows like any other.
_SQLITE_ADMIT = (
    "INSERT INTO used_passes (pass_id, state, at, gate, expires_at) VALUES (?, 'used', ?, ?, ?) "
    "ON CONFLICT (pass_id) DO NOTHING RETURNING pass_id"
)
_SQLITE_EARLIER = "SELECT state, at, gate FROM used_passes WHERE pass_id = ?"
_SQLITE_AUDIT = (
    "INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

# Postgres runs the check-in as one statement, its own transaction. A conflict takes the
# existing row through a no-op DO UPDATE, which waits for a concurrent insert of the same
# pass and returns that row (so its state is never missed, unlike a snapshot read);
# xmax = 0 marks a row this statement inserted. The audit row is written by the same
# statement, from the same decision.
_PG_CHECK_IN = """
WITH used AS (
    INSERT INTO used_passes AS u (pass_id, state, at, gate, expires_at)
    VALUES ($1, 'used', $2, $3, $4)
    ON CONFLICT (pass_id) DO UPDATE SET state = u.state
    RETURNING (u.xmax = 0) AS admitted, u.state, u.at, u.gate
), audit AS (
    INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256)
    SELECT $2, $3,
           CASE WHEN admitted THEN 'allow' ELSE 'deny' END,
           CASE WHEN admitted THEN NULL
                WHEN used.state = 'revoked' THEN 'revoked'
                ELSE 'already_used' END,
           $1, $5, $6, $7
    FROM used
)
SELECT admitted, state, at, gate FROM used
"""
_PG_AUDIT_DENY = """
INSERT INTO audit_events (at, gate, result, reason, token_sha256) VALUES ($1, $2, 'deny', $3, $4)
"""


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
    verifier: TokenVerifier, keyset: KeyLookup, token: str, now: float
) -> Decision | PassClaims:
    """The claims if signature, time and claims hold, else the deny decision."""
    try:
        return verifier.verify(token, keyset, now)
    except TokenRejected as rejected:
        return Decision("deny", rejected.reason)


async def check_in(
    database: Database,
    verifier: TokenVerifier,
    keyset: KeyLookup,
    clock: Clock,
    *,
    token: str,
    gate: str,
) -> Decision:
    """Decide and record one scan; the audit row is committed before this returns."""
    now = clock.now()
    checked = verify_offline(verifier, keyset, token, now)
    fingerprint = token_fingerprint(token)
    if database.writer is None:  # Postgres
        return await database.on_driver(
            partial(_record_in_one_statement, checked, gate, to_datetime(now), fingerprint)
        )
    return await database.writer.run_on_driver(
        partial(_record, checked, gate, to_datetime(now), fingerprint)
    )


def _record(
    checked: Decision | PassClaims,
    gate: str,
    at: datetime,
    fingerprint: str,
    sqlite: sqlite3.Connection,
) -> Decision:
    """SQLite, in the writer's transaction: admit once (if the token holds), then the audit
    row, whatever happened."""
    stamp = at.astimezone(UTC).strftime(_SQLITE_TIME)
    if isinstance(checked, Decision):
        decision = checked
    else:
        decision = _admit_once(sqlite, checked, gate, stamp)
    claims = decision.claims
    sqlite.execute(
        _SQLITE_AUDIT,
        (
            stamp,
            gate,
            decision.result,
            decision.reason,
            claims.pass_id if claims else None,
            claims.user_id if claims else None,
            claims.kid if claims else None,
            fingerprint,
        ),
    )
    return decision


def _admit_once(sqlite: sqlite3.Connection, claims: PassClaims, gate: str, stamp: str) -> Decision:
    admitted = sqlite.execute(_SQLITE_ADMIT, (claims.pass_id, stamp, gate, claims.expires_at))
    if admitted.fetchone() is not None:
        return Decision("allow", claims=claims)
    state, at, used_gate = sqlite.execute(_SQLITE_EARLIER, (claims.pass_id,)).fetchone()
    if state == "revoked":
        return Decision("deny", "revoked", claims)
    used_at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    return Decision("deny", "already_used", claims, used_at, used_gate)


async def _record_in_one_statement(
    checked: Decision | PassClaims, gate: str, at: datetime, fingerprint: str, driver: Any
) -> Decision:
    """Postgres: the same transaction as `_record`, as one statement (one round trip)."""
    naive_utc = at.astimezone(UTC).replace(tzinfo=None)  # as UtcDateTime stores it
    if isinstance(checked, Decision):
        await driver.execute(_PG_AUDIT_DENY, naive_utc, gate, checked.reason, fingerprint)
        return checked
    claims = checked
    row = await driver.fetchrow(
        _PG_CHECK_IN,
        claims.pass_id,
        naive_utc,
        gate,
        claims.expires_at,
        claims.user_id,
        claims.kid,
        fingerprint,
    )
    if row["admitted"]:
        return Decision("allow", claims=claims)
    if row["state"] == "revoked":
        return Decision("deny", "revoked", claims)
    return Decision("deny", "already_used", claims, row["at"].replace(tzinfo=UTC), row["gate"])


async def delete_expired_used_passes(session: AsyncSession, now: float, leeway: int) -> int:
    """Forget used passes whose tokens can no longer verify anyway; returns how many."""
    result = await session.execute(delete(UsedPass).where(UsedPass.expires_at < int(now) - leeway))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
