"""Recording a gate's offline decisions: the same insert-is-decision admission as a scan.

An uploaded offline allow inserts into the used-nonce table like `record_scan` does: if it
wins, the first use stands; if the pass was already used or revoked, the admission is still
recorded (the person is in) with `conflict` saying what the server found. Each decision
carries the gate's own id, stored in the audit row's unique `decision_id`: a re-upload finds
its row and adds nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gymgate.binding import moved_away
from gymgate.models import AuditEvent, PassBinding, UsedPass
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
    known = connection.execute(
        select(
            AuditEvent.decision_id, AuditEvent.result, AuditEvent.reason, AuditEvent.conflict
        ).where(AuditEvent.decision_id.in_({scan.decision_id for scan in scans}))
    )
    recorded = {
        decision_id: OfflineRecord(decision_id, False, result, reason, conflict)
        for decision_id, result, reason, conflict in known
        if decision_id is not None
    }
    records = []
    for scan in scans:
        record = recorded.get(scan.decision_id) or _record_one(connection, insert, scan)
        recorded[scan.decision_id] = dataclasses.replace(record, new=False)  # a repeat in scans
        records.append(record)
    return records


def _record_one(connection: Connection, insert: InsertFor, scan: OfflineScan) -> OfflineRecord:
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
    if claims.jkt is not None and moved_away(_bound_to(connection, claims.pass_id), claims.jkt):
        return "revoked"  # a code of the phone the pass moved away from: the pass stays unused
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


def _bound_to(connection: Connection, pass_id: str) -> str | None:
    """The pass's current phone, its row locked like a check-in locks it (Postgres)."""
    query = select(PassBinding.jkt).where(PassBinding.pass_id == pass_id)
    return connection.execute(query.with_for_update(read=True)).scalar_one_or_none()
