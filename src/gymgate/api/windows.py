"""Counting events per key in fixed time windows, in bounded memory.

The rate limits and the failed-authentication throttle both ask "how many times has this
client done X in the current minute?". Each key's window starts at its first event and lasts
`window_seconds`; a request costs one dictionary lookup and at most one eviction, and at
most `capacity` keys are held: when a new key arrives at a full table, the key touched
longest ago goes (an expired window first, in practice: those are the stalest).
"""

from __future__ import annotations

import math
from collections import OrderedDict

__all__ = ["DEFAULT_CAPACITY", "WindowCounter"]

DEFAULT_CAPACITY = 10_000


class WindowCounter:
    """Events per key in the key's current window; the least recently touched key is evicted
    when the table is full."""

    def __init__(self, window_seconds: float, capacity: int = DEFAULT_CAPACITY) -> None:
        if window_seconds <= 0 or capacity <= 0:
            raise ValueError("window_seconds and capacity must be positive")
        self.window_seconds = window_seconds
        self.capacity = capacity
        # key -> (window start, events in that window)
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    def count(self, key: str, now: float) -> int:
        """Events for `key` in its current window (0 once the window has passed)."""
        window = self._windows.get(key)
        if window is None or now - window[0] >= self.window_seconds:
            return 0
        return window[1]

    def add(self, key: str, now: float) -> int:
        """Record one event for `key`; the count in its window, this event included."""
        window = self._windows.pop(key, None)
        if window is None or now - window[0] >= self.window_seconds:
            window = (now, 0)
            if len(self._windows) >= self.capacity:
                self._windows.popitem(last=False)
        counted = (window[0], window[1] + 1)
        self._windows[key] = counted  # re-inserted at the end: the most recently touched
        return counted[1]

    def retry_after(self, key: str, now: float) -> int:
        """Whole seconds (at least 1) until `key`'s current window ends."""
        window = self._windows.get(key)
        left = self.window_seconds - (now - window[0]) if window is not None else 0.0
        return max(1, math.ceil(left))
