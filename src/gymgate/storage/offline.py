"""Recording a gate's offline decisions: the same insert-is-decision admission as a scan.

An uploaded offline allow inserts into the used-nonce table like `record_scan` does: if it
wins, the first use stands; if the pass was already used or revoked, the admission is still
recorded (the person is in) with `conflict` saying what the server found. Each decision
carries the gate's own id, stored in the audit row's unique `decision_id`: a re-upload finds
its row and adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gymgate.models import AuditEvent, UsedPass
from gymgate.tokens import PassClaims
from gymgate.vocabulary import Conflict, DenyReason, Result

__all__ = ["OfflineRecord", "OfflineScan", "record_offline_scans"]

# The backend's INSERT constructor (sqlite.insert or postgresql.insert: ON CONFLICT for both).
InsertFor = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class OfflineScan:
    """One decision a gate made offline, as the server judged its token at the scan time."""

    decision_id: str
    gate: str
    at: datetime  # the gate's scan time
    recorded_at: datetime  # the server's time of upload
    fingerprint: str
    result: Result
    reason: DenyReason | None
    claims: PassClaims | None


@dataclass(frozen=True, slots=True)
class OfflineRecord:
    """What the audit log holds for one uploaded decision; `new` is False for a re-upload."""

    decision_id: str
    new: bool
    result: Result
    reason: DenyReason | None
    conflict: Conflict | None


def record_offline_scans(
    connection: Connection, insert: InsertFor, scans: Sequence[OfflineScan]
) -> list[OfflineRecord]:
    """In the caller's transaction: each scan's admission (if an allow) and audit row, once."""
    return [_record_one(connection, insert, scan) for scan in scans]


def _record_one(connection: Connection, insert: InsertFor, scan: OfflineScan) -> OfflineRecord:
    earlier = connection.execute(
        select(AuditEvent.result, AuditEvent.reason, AuditEvent.conflict).where(
            AuditEvent.decision_id == scan.decision_id
        )
    ).first()
    if earlier is not None:
        return OfflineRecord(scan.decision_id, False, earlier[0], earlier[1], earlier[2])
    conflict = _admit(connection, insert, scan) if scan.result == "allow" else None
    claims = scan.claims
    connection.execute(
        insert(AuditEvent).values(
            at=scan.at,
            gate=scan.gate,
            result=scan.result,
            reason=scan.reason,
            pass_id=claims.pass_id if claims else None,
            user_id=claims.user_id if claims else None,
            kid=claims.kid if claims else None,
            token_sha256=scan.fingerprint,
            mode="offline",
            conflict=conflict,
            decision_id=scan.decision_id,
        )
    )
    return OfflineRecord(scan.decision_id, True, scan.result, scan.reason, conflict)


def _admit(connection: Connection, insert: InsertFor, scan: OfflineScan) -> Conflict | None:
    """None if this admission is the pass's first use, else what the server found first."""
    claims = scan.claims
    assert claims is not None  # an allow always carries the claims it was verified with
    admitted = connection.execute(
        insert(UsedPass)
        .values(
            pass_id=claims.pass_id,
            state="used",
            at=scan.at,
            gate=scan.gate,
            expires_at=claims.expires_at,
            recorded_at=scan.recorded_at,
        )
        .on_conflict_do_nothing(index_elements=["pass_id"])
        .returning(UsedPass.pass_id)
    ).first()
    if admitted is not None:
        return None
    state = connection.execute(
        select(UsedPass.state).where(UsedPass.pass_id == claims.pass_id)
    ).scalar_one()
    return "revoked" if state == "revoked" else "already_used"
