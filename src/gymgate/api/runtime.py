"""The long-lived collaborators of one server process, built in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from gymgate.clock import Clock
from gymgate.db import Database
from gymgate.keystore import ReloadingKeySet
from gymgate.payments import PaymentProvider
from gymgate.services.checkin import delete_expired_used_passes
from gymgate.services.gates import GateRegistry, load_gate_hashes
from gymgate.settings import Settings
from gymgate.tokens import TokenVerifier

__all__ = ["Runtime"]


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    database: Database
    keys: ReloadingKeySet
    provider: PaymentProvider
    verifier: TokenVerifier = field(init=False)
    gates: GateRegistry = field(init=False)
    _last_sweep: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.verifier = TokenVerifier(
            issuer=self.settings.issuer, leeway_seconds=self.settings.leeway_seconds
        )
        self.gates = GateRegistry(self._load_gates)
        # The injectable clock, not time.monotonic: tests move it to make a sweep due.
        self._last_sweep = self.clock.now()

    async def _load_gates(self) -> dict[str, str]:
        async with self.database.session() as session:
            return await load_gate_hashes(session)

    async def sweep_used_passes(self) -> int:
        """Delete used-pass rows whose tokens have expired; returns how many went."""
        now = self._last_sweep = self.clock.now()
        async with self.database.session() as session:
            return await delete_expired_used_passes(session, now, self.settings.leeway_seconds)

    def claim_sweep(self) -> bool:
        """Whether this verify should sweep on its way out, at most once per interval.

        Claiming moves the mark at once, so the scans answered before the sweep runs do not
        each schedule one of their own.
        """
        now = self.clock.now()
        if now - self._last_sweep < self.settings.cleanup_interval_seconds:
            return False
        self._last_sweep = now
        return True
