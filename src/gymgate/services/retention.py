"""Audit retention: export audit rows older than a date to CSV, then delete them.

Both walk the table in batches by id, so memory stays bounded and SQLite's write lock is
held for one short batch at a time (the gates keep writing between batches). Each deleted
batch is subtracted from the hourly rollup in the same transaction. Only rows that
existed when the prune started go: an offline decision uploaded meanwhile may carry an old
scan time, and must not be deleted without having been exported.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import delete, func, select

from gymgate.clock import to_iso
from gymgate.models import AuditEvent, AuditHourly
from gymgate.services.audit_rollup import forget
from gymgate.storage import Storage

__all__ = ["CSV_COLUMNS", "AuditRetention", "Pruned"]

CSV_COLUMNS = ("at", "gate", "result", "reason", "pass_id", "user_id", "mode", "conflict")
BATCH = 1000
# What the hourly rollup needs to know of a deleted row (gymgate.services.audit_rollup).
_ROLLUP_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.gate,
    AuditEvent.result,
    AuditEvent.reason,
    AuditEvent.conflict,
)


@dataclass(frozen=True, slots=True)
class Pruned:
    deleted: int
    exported: int


class AuditRetention:
    """Deleting old audit rows, optionally exporting them first."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def prune(self, before: datetime, export: TextIO | None = None) -> Pruned:
        """Delete the rows with `at` before `before`; write them to `export` as CSV first."""
        async with self._storage.reading() as session:
            last_id = await session.scalar(select(func.max(AuditEvent.id)))
        if last_id is None:
            return Pruned(0, 0)
        exported = await self._export(before, last_id, export) if export is not None else 0
        return Pruned(await self._delete(before, last_id), exported)

    async def _export(self, before: datetime, last_id: int, sink: TextIO) -> int:
        writer = csv.writer(sink)
        writer.writerow(CSV_COLUMNS)
        after, count = 0, 0
        while True:
            query = (
                select(AuditEvent)
                .where(AuditEvent.at < before, AuditEvent.id > after, AuditEvent.id <= last_id)
                .order_by(AuditEvent.id)
                .limit(BATCH)
            )
            async with self._storage.reading() as session:
                rows = list(await session.scalars(query))
            if not rows:
                return count
            writer.writerows(_csv_row(row) for row in rows)
            count += len(rows)
            after = rows[-1].id

    async def _delete(self, before: datetime, last_id: int) -> int:
        deleted = 0
        while True:
            batch = (
                select(AuditEvent.id)
                .where(AuditEvent.at < before, AuditEvent.id <= last_id)
                .order_by(AuditEvent.id)
                .limit(BATCH)
                .scalar_subquery()
            )
            async with self._storage.writing() as session:
                gone = (
                    await session.execute(
                        delete(AuditEvent)
                        .where(AuditEvent.id.in_(batch))
                        .returning(*_ROLLUP_COLUMNS)
                        .execution_options(synchronize_session=False)
                    )
                ).all()
                await forget(session, self._storage.insert(AuditHourly), gone)
            count = len(gone)
            deleted += count
            if count < BATCH:
                return deleted


def _csv_row(event: AuditEvent) -> list[str]:
    values = (
        to_iso(event.at), event.gate, event.result, event.reason, event.pass_id,
        event.user_id, event.mode, event.conflict,
    )  # fmt: skip
    return ["" if value is None else str(value) for value in values]
