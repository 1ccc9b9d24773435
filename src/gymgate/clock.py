"""Time as a dependency: every 'now' in gymgate comes from a Clock, so tests move time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FrozenClock", "SystemClock", "to_datetime", "to_iso"]


class Clock(Protocol):
    """Seconds since the epoch; the only source of the current time in the domain."""

    def now(self) -> float: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class FrozenClock:
    """A clock that moves only when told to; for tests and benchmarks."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def to_datetime(epoch_seconds: float) -> datetime:
    """An aware UTC datetime for an epoch timestamp."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def to_iso(moment: datetime | float) -> str:
    """ISO 8601 in UTC with a Z, the one time format gymgate speaks."""
    if not isinstance(moment, datetime):
        moment = to_datetime(moment)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
