"""The one interface use cases call to reach the database, whatever the backend.

Five doors, each with one precondition a caller can rely on:

    record_scan(scan)   the admission: insert-is-decision plus the audit row, one transaction
    record_offline(scans)   a gate's uploaded offline decisions: the same admission, each
                        recorded once by its decision id (gymgate.storage.offline)
    write(work)         a short write transaction: `work(connection)` runs synchronously and
                        is committed before this returns (the hot issuing path)
    writing()           an ORM session inside a write transaction, committed on a clean exit
    reading()           an ORM session for reads: never takes SQLite's write lock;
                        reading(snapshot=True): all its statements see one moment
    ping() / clock_offset()   is the database there; its clock minus this process's clock

Every door translates storage failures into domain errors (see gymgate.storage.errors). A
new backend (the gate agent's local store, say) implements this protocol; nothing above it
changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.decisions import Decision
from gymgate.models import Base
from gymgate.storage.offline import OfflineRecord, OfflineScan

__all__ = ["Backend", "Insert", "Scan", "ScanRecorder", "Storage"]

T = TypeVar("T")
Backend = Literal["sqlite", "postgresql"]
# The backend's own INSERT, the one with ON CONFLICT clauses.
Insert = postgresql.Insert | sqlite.Insert


@dataclass(frozen=True, slots=True)
class Scan:
    """One authenticated scan to record: the offline verdict, where, when, which token."""

    verdict: Decision  # from verify_offline: an allow still has to win the used-pass insert
    gate: str
    at: datetime
    fingerprint: str
    # The token itself: only the gate agent's local store keeps it (to upload the decision
    # later); servers record the fingerprint and never store a whole token.
    token: str | None = None


class ScanRecorder(Protocol):
    """The admission door alone: what a check-in needs (the gate agent's local store too)."""

    async def record_scan(self, scan: Scan) -> Decision: ...


class Storage(Protocol):
    """What gymgate needs from a database (see the module docstring for each door)."""

    backend: Backend

    async def record_scan(self, scan: Scan) -> Decision: ...

    async def record_offline(self, scans: Sequence[OfflineScan]) -> list[OfflineRecord]: ...

    async def write(self, work: Callable[[Connection], T]) -> T: ...

    def writing(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def reading(self, *, snapshot: bool = False) -> AbstractAsyncContextManager[AsyncSession]: ...

    def insert(self, model: type[Base], **values: Any) -> Insert: ...

    async def ping(self) -> None: ...

    async def clock_offset(self) -> float: ...

    async def close(self) -> None: ...
