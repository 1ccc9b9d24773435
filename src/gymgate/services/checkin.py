"""Checking a pass in at a gate: verify offline, then admit at most once, always audited.

The admission decision is the INSERT into the used-nonce table: a primary-key conflict means
the pass was used (or revoked) before. That insert and the audit row share one transaction,
committed before the caller answers, so there is no read-then-write race between scanners,
processes or servers, and no answer without its audit row.
"""

from __future__ import annotations

from gymgate.clock import Clock, to_datetime
from gymgate.decisions import Decision, token_fingerprint, verify_offline
from gymgate.keystore import KeyLookup
from gymgate.storage import Scan, ScanRecorder
from gymgate.tokens import TokenVerifier

__all__ = ["CheckIn"]


class CheckIn:
    """The gate's use case: one scan in, one decision out, its audit row committed."""

    def __init__(
        self, storage: ScanRecorder, verifier: TokenVerifier, keys: KeyLookup, clock: Clock
    ) -> None:
        self._storage = storage
        self._verifier = verifier
        self._keys = keys  # not a snapshot: an unknown kid re-reads keys/ (see keystore)
        self._clock = clock

    async def __call__(self, token: str, gate: str) -> Decision:
        """Decide and record one scan; the audit row is committed before this returns."""
        now = self._clock.now()
        verdict = verify_offline(self._verifier, self._keys, token, now)
        scan = Scan(verdict, gate, to_datetime(now), token_fingerprint(token), token)
        return await self._storage.record_scan(scan)
