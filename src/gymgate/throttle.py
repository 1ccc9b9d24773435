"""A small in-process rate limit: at most N events per key in a sliding window.

Each process keeps its own memory (several servers each allow N): enough to stop one
client flooding a mailbox through /passes/resend, which is all it is for.
"""

from __future__ import annotations

from collections import deque

__all__ = ["Throttle"]

# Forget idle keys once there are this many, so the memory stays bounded.
_MAX_KEYS = 10_000


class Throttle:
    """`allow(key, now)` is None when the event may happen (and counts it), else the seconds
    to wait."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> float | None:
        if len(self._seen) > _MAX_KEYS:
            self._forget_idle(now)
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) >= self._limit:
            return times[0] + self._window - now
        times.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        cutoff = now - self._window
        idle = [key for key, times in self._seen.items() if not times or times[-1] <= cutoff]
        for key in idle:
            del self._seen[key]
