"""A lane for bulk reads that must not crowd out the gate: one turn at a time, then a rest.

A CSV export of a million rows is seconds of a database thread's CPU, and a flood of audit
summaries is hundreds of small reads a second. Left alone, they would take both cores of a
small server and the gate, sharing the machine, would wait for one. On the lane, reports
take turns (one read at a time, however many operators ask), and after each turn the lane
rests as long as the turn took: reports get at most about half of one core, and the gate
always finds one free. The rest grows with the machine's load, since turns then take longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

__all__ = ["LowPriority"]


class LowPriority:
    def __init__(self, *, busy_share: float = 0.5) -> None:
        self._turns = asyncio.Lock()
        self._rest_per_busy = (1 - busy_share) / busy_share

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for the lane, run the block, then keep the lane resting a while."""
        async with self._turns:
            started = time.monotonic()
            try:
                yield
            finally:
                await asyncio.sleep((time.monotonic() - started) * self._rest_per_busy)
