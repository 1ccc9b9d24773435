"""M1: the in-process verify pipeline (keys, token checks, the check-in transaction), no HTTP."""

from __future__ import annotations

from benchmarks.timing import per_second_async
from benchmarks.workspace import GATE
from gymgate.clock import SystemClock
from gymgate.db import Database
from gymgate.keystore import KeyStore, ReloadingKeySet
from gymgate.services.checkin import check_in
from gymgate.settings import Settings
from gymgate.tokens import TokenVerifier

__all__ = ["verify_pipeline"]


async def verify_pipeline(settings: Settings, tokens: list[str], seconds: float) -> float:
    """Verifies per second, one at a time, each a distinct valid pass, the way POST /verify
    runs them."""
    database = Database(settings)
    keys = ReloadingKeySet(KeyStore(settings.keys_dir), settings.key_reload_seconds)
    verifier = TokenVerifier(issuer=settings.issuer, leeway_seconds=settings.leeway_seconds)
    clock = SystemClock()

    async def verify(i: int) -> None:
        decision = await check_in(
            database, verifier, keys.current(), clock, token=tokens[i], gate=GATE
        )
        assert decision.allowed, f"M1 pass {i} was denied: {decision.reason}"

    try:
        return await per_second_async(verify, seconds)
    finally:
        await database.close()
