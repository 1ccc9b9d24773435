"""Syncing a gate agent: what it needs to decide offline, and recording what it decided.

`state()` hands a gate the public keys, the token rules, the revoked passes, the passes
moved to another phone (each with the phone it is on now) and the uses since its last
sync; `upload()` records its offline decisions through the storage door `record_offline`,
judging each token at its scan time, not at upload time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from gymgate.clock import Clock, to_datetime
from gymgate.decisions import token_fingerprint, verify_offline
from gymgate.keystore import ReloadingKeySet
from gymgate.models import Pass, PassBinding, UsedPass
from gymgate.services.gates import Gates
from gymgate.storage import Storage
from gymgate.storage.offline import OfflineRecord, OfflineScan
from gymgate.tokens import TokenVerifier
from gymgate.vocabulary import DenyReason, Result

__all__ = ["GateState", "GateSync", "OfflineDecision", "ReboundEntry", "UsedEntry"]

# Uses are sent again for this long past a gate's cursor: a row committed a little after
# the cursor was taken, or stamped by a server whose clock is a little behind, still arrives.
CURSOR_OVERLAP = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class UsedEntry:
    """A pass that can no longer open a gate: used (where, when) or revoked."""

    pass_id: str
    at: datetime
    gate: str | None
    expires_at: int


@dataclass(frozen=True, slots=True)
class ReboundEntry:
    """A pass that moved to another phone: only codes signed by `jkt`'s key still count."""

    pass_id: str
    jkt: str


@dataclass(frozen=True, slots=True)
class GateState:
    """What a gate agent stores to decide offline, as of `server_time`."""

    server_time: float
    jwks: dict[str, Any]
    revoked: list[UsedEntry]
    used: list[UsedEntry]
    rebound: list[ReboundEntry]
    cursor: str


@dataclass(frozen=True, slots=True)
class OfflineDecision:
    """One decision as the gate uploads it."""

    id: str
    token: str
    at: datetime
    result: Result
    reason: DenyReason | None


class GateSync:
    """The server side of offline gates."""

    def __init__(
        self,
        storage: Storage,
        gates: Gates,
        verifier: TokenVerifier,
        keys: ReloadingKeySet,
        clock: Clock,
    ) -> None:
        self._storage = storage
        self._gates = gates
        self._verifier = verifier
        self._keys = keys
        self._clock = clock

    async def state(self, gate: str, since: str | None, pending_uploads: int) -> GateState:
        """Keys, revocations and uses since `since` (a cursor from an earlier state)."""
        now = self._clock.now()
        valid_after = int(now) - self._verifier.leeway  # expires_at + leeway > now
        start = parse_cursor(since)
        query = select(UsedPass).where(UsedPass.expires_at > valid_after)
        if start is not None:  # every revocation, but only the uses since the cursor
            learned = func.coalesce(UsedPass.recorded_at, UsedPass.at)
            query = query.where(or_(UsedPass.state == "revoked", learned >= start - CURSOR_OVERLAP))
        # Every moved pass still valid, each sync (like revocations: few, and replaced whole).
        moved = (
            select(PassBinding.pass_id, PassBinding.jkt)
            .join(Pass, Pass.id == PassBinding.pass_id)
            .where(PassBinding.rebound_at.is_not(None), Pass.expires_at > to_datetime(valid_after))
        )
        async with self._storage.reading() as session:
            rows = list(await session.scalars(query))
            rebound = [ReboundEntry(row.pass_id, row.jkt) for row in await session.execute(moved)]
        await self._gates.record_sync(gate, pending_uploads)
        revoked = [_entry(r) for r in rows if r.state == "revoked"]
        used = [_entry(r) for r in rows if r.state == "used"]
        jwks = self._keys.current().jwks()
        return GateState(now, jwks, revoked, used, rebound, f"{now:.6f}")

    async def upload(self, gate: str, decisions: Sequence[OfflineDecision]) -> list[OfflineRecord]:
        """Record each decision once; the token re-verified as of its scan time."""
        now = self._clock.now()
        scans = [self._judged(gate, decision, now) for decision in decisions]
        return await self._storage.record_offline(scans)

    def _judged(self, gate: str, decision: OfflineDecision, now: float) -> OfflineScan:
        # A gate cannot have scanned in the future (its clock is off: use ours), nor before 1970.
        at = max(0.0, min(decision.at.timestamp(), now))
        verdict = verify_offline(self._verifier, self._keys, decision.token, at)
        result, reason = decision.result, decision.reason
        if result == "allow" and not verdict.allowed:
            result, reason = "deny", verdict.reason  # not one of our passes at that time
        return OfflineScan(
            decision_id=decision.id,
            gate=gate,
            at=to_datetime(at),
            recorded_at=to_datetime(now),
            fingerprint=token_fingerprint(decision.token),
            result=result,
            reason=reason,
            claims=verdict.claims,
        )


def parse_cursor(cursor: str | None) -> datetime | None:
    """The time a cursor stands for; ValueError if it is not one of ours."""
    if cursor is None or cursor == "":
        return None
    seconds = float(cursor)
    if not 0 <= seconds < 253_402_300_799:
        raise ValueError("cursor out of range")
    return to_datetime(seconds)


def _entry(row: UsedPass) -> UsedEntry:
    return UsedEntry(row.pass_id, row.at, row.gate, row.expires_at)
