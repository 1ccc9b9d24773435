"""M1: the in-process verify pipeline (keys, token checks, the check-in transaction), no HTTP."""

from __future__ import annotations

from benchmarks.timing import per_second_async
from benchmarks.workspace import GATE
from gymgate.runtime import Runtime
from gymgate.settings import Settings

__all__ = ["verify_pipeline"]


async def verify_pipeline(settings: Settings, tokens: list[str], seconds: float) -> float:
    """Verifies per second, one at a time, each a distinct valid pass, the way POST /verify
    runs them."""
    async with Runtime.open(settings) as runtime:

        async def verify(i: int) -> None:
            decision = await runtime.check_in(tokens[i], GATE)
            assert decision.allowed, f"M1 pass {i} was denied: {decision.reason}"

        return await per_second_async(verify, seconds)
