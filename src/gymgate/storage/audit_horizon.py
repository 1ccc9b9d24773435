"""The audit id up to which no new row can still appear: how far a rollup may count.

SQLite has one writer at a time and a row gets its id (the largest so far plus one) inside
the writer's transaction, so every id up to the largest visible one is final: a later row
always gets a larger id. (Deleting the newest rows would let SQLite hand their ids out
again; audit retention lowers the rollup's mark when it does, see
gymgate.services.audit_rollup.)

Postgres takes ids from a sequence before the transaction commits: the row with id 100 may
become visible after the row with id 101, so "the largest visible id" is not final. Instead:
read the sequence's last value V, then list the transactions running in this database;
every transaction that took an id <= V did so before that list was made, so once all of
them have ended, each id <= V is committed or never will be. Nothing waits on the gate's
transactions (pg_locks is only read); a transaction that stays open keeps the mark where it
was, and summaries then count more rows live, never wrongly. (Prepared two-phase
transactions would escape the list; gymgate does not use them.)
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from gymgate.models import AuditEvent
from gymgate.storage.interface import Storage

__all__ = ["AuditHorizon"]

_LAST_ID = text("SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_events', 'id'))")
_RUNNING = text(
    "SELECT coalesce(array_agg(l.virtualxid), '{}') FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'virtualxid' AND l.granted AND a.datname = current_database() "
    "AND l.pid <> pg_backend_pid()"
)
_STILL_RUNNING = text(
    "SELECT count(*) FROM pg_locks "
    "WHERE locktype = 'virtualxid' AND granted AND virtualxid = ANY(:running)"
)
# How long settled() waits for Postgres transactions that were running when it looked.
_WAITS = (0.0, 0.01, 0.05, 0.2)


class AuditHorizon:
    """`settled()`: the largest audit id below which every row is final (None: none yet)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        # Postgres: (last id, transactions then running) still waiting to end.
        self._pending: tuple[int, list[str]] | None = None

    async def settled(self) -> int | None:
        if self._storage.backend == "sqlite":
            async with self._storage.reading() as session:
                return await session.scalar(select(func.max(AuditEvent.id)))
        return await self._settled_on_postgres()

    async def _settled_on_postgres(self) -> int | None:
        if self._pending is None:
            async with self._storage.reading() as session:
                last = await session.scalar(_LAST_ID)
                if last is None:
                    return None
                running = list(await session.scalar(_RUNNING) or [])
            self._pending = (int(last), running)
        last, running = self._pending
        for wait in _WAITS:
            await asyncio.sleep(wait)
            if running:
                async with self._storage.reading() as session:
                    if await session.scalar(_STILL_RUNNING, {"running": running}):
                        continue
            self._pending = None
            return last
        return None  # some are still running: the next call looks again
