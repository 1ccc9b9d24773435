"""A lane for bulk work that must not crowd out the gate: one turn at a time, then a rest.

A CSV export of a million rows is a few seconds of a database thread's CPU. Four of them at
once would take both cores of a small server and the gate, sharing the machine, would wait
for a core. On the lane, exports take turns chunk by chunk (one reads at a time, however
many downloads are open), and after each turn the lane rests as long as the turn took: bulk
work gets at most half of one core, and the gate always finds one free.
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
