"""Timing loops for in-process figures: warm up, then count calls for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

__all__ = ["per_second", "per_second_async"]


def per_second(call: Callable[[int], object], seconds: float, warmup: int = 200) -> float:
    """Calls per second of `call(i)` over about `seconds` (i counts up from 0)."""
    for i in range(warmup):
        call(i)
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(100):
            call(warmup + done)
            done += 1
        if time.perf_counter() >= deadline:
            return done / (time.perf_counter() - started)


async def per_second_async(
    call: Callable[[int], Awaitable[object]], seconds: float, warmup: int = 100
) -> float:
    """Like per_second, for a coroutine run one at a time (no concurrency)."""
    for i in range(warmup):
        await call(i)
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(20):
            await call(warmup + done)
            done += 1
        if time.perf_counter() >= deadline:
            return done / (time.perf_counter() - started)
