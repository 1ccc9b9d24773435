"""Forgetting used passes once no server could accept their tokens anyway (and audit rows
older than GYMGATE_AUDIT_RETENTION_DAYS, when set).

The used-nonce table is what makes a pass admit at most once, so a row may only go when
every server sharing the database would refuse its token as expired. Servers' clocks and
leeways differ, so the cut-off is read from the database's clock, not ours, and stays a
generous margin behind it: a row outlives its token's exp by SWEEP_MARGIN_SECONDS, far more
than any leeway a server accepts (gymgate.settings caps it at MAX_LEEWAY_SECONDS) plus the
clock skew a server reports as not ready (more than its leeway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import delete

from gymgate.background import in_background
from gymgate.clock import Clock, to_datetime
from gymgate.models import UsedPass
from gymgate.services.retention import AuditRetention
from gymgate.settings import MAX_LEEWAY_SECONDS
from gymgate.storage import Storage

__all__ = ["SWEEP_MARGIN_SECONDS", "UsedPassSweeper"]

SWEEP_MARGIN_SECONDS = 3600
assert SWEEP_MARGIN_SECONDS >= 2 * MAX_LEEWAY_SECONDS

log = logging.getLogger("gymgate")


class UsedPassSweeper:
    """The one owner of the sweep: on a timer, and opportunistically after a scan."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        interval_seconds: float,
        *,
        audit_retention_days: int = 0,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._interval = interval_seconds
        self._audit_retention = timedelta(days=audit_retention_days)
        # The injectable clock, not time.monotonic: tests move it to make a sweep due.
        self._last = clock.now()

    async def sweep(self) -> int:
        """Delete rows whose tokens expired more than the margin ago by the database's
        clock; returns how many went."""
        self._last = self._clock.now()
        database_now = time.time() + await self._storage.clock_offset()
        cutoff = int(database_now) - SWEEP_MARGIN_SECONDS
        async with self._storage.writing() as session:
            result = await session.execute(delete(UsedPass).where(UsedPass.expires_at < cutoff))
        if self._audit_retention:
            before = to_datetime(database_now) - self._audit_retention
            pruned = await AuditRetention(self._storage).prune(before)
            log.debug("pruned %d audit rows older than %s", pruned.deleted, before.isoformat())
        return int(getattr(result, "rowcount", 0) or 0)

    def claim(self) -> bool:
        """Whether this scan should sweep on its way out, at most once per interval.

        Claiming moves the mark at once, so the scans answered before the sweep runs do not
        each schedule one of their own.
        """
        now = self._clock.now()
        if now - self._last < self._interval:
            return False
        self._last = now
        return True

    async def sweep_if_due(self) -> None:
        """After a scan is answered: sweep if this scan claims the sweep (see claim)."""
        if self.claim():
            await self.sweep()

    async def run_forever(self) -> None:
        """Sweep every interval until cancelled; a failed sweep is retried next time."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                log.debug("swept %d expired used-pass rows", await self.sweep())
            except Exception as error:
                log.warning("used-pass sweep failed: %s", type(error).__name__)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The timer, for as long as the block runs."""
        async with in_background(self.run_forever):
            yield
