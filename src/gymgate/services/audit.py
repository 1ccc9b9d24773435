"""Reading the audit log: newest first, filtered, paged by a cursor that stays stable."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from gymgate.models import AuditEvent
from gymgate.storage import Storage
from gymgate.vocabulary import DenyReason, Result

__all__ = ["AuditFilter", "AuditLog", "AuditPage", "AuditSummary"]

# Whole-log reports (summaries) that may run at once. Fewer than the read connections a
# backend keeps (4 on SQLite): the gate's own reads (its secret registry) always find one
# free, however many operators ask for totals over a million rows.
REPORTS_AT_ONCE = 2


@dataclass(frozen=True, slots=True)
class AuditFilter:
    result: Result | None = None
    reason: DenyReason | None = None
    gate: str | None = None
    pass_id: str | None = None
    since: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.result is not None:
            conditions.append(AuditEvent.result == self.result)
        if self.reason is not None:
            conditions.append(AuditEvent.reason == self.reason)
        if self.gate is not None:
            conditions.append(AuditEvent.gate == self.gate)
        if self.pass_id is not None:
            conditions.append(AuditEvent.pass_id == self.pass_id)
        if self.since is not None:
            conditions.append(AuditEvent.at >= self.since)
        return conditions


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEvent]
    next_before: int | None  # pass as `before` to get the next (older) page


@dataclass(frozen=True, slots=True)
class AuditSummary:
    total: int
    by_result: dict[str, int]
    by_reason: dict[str, int]


class AuditLog:
    """Reading the audit log; reads never hold the gate's writers off."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._reports = asyncio.Semaphore(REPORTS_AT_ONCE)

    async def page(self, where: AuditFilter, *, limit: int, before: int | None) -> AuditPage:
        """Up to `limit` events, newest first, older than the `before` cursor if given."""
        query = select(AuditEvent).where(*where.conditions())
        if before is not None:
            query = query.where(AuditEvent.id < before)
        async with self._storage.reading() as session:
            rows = list(
                await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1))
            )
        more = len(rows) > limit
        items = rows[:limit]
        return AuditPage(items, items[-1].id if more and items else None)

    async def summary(self, where: AuditFilter) -> AuditSummary:
        """Counts by result and by deny reason, e.g. for today's totals on the operator page."""
        query = (
            select(AuditEvent.result, AuditEvent.reason, func.count())
            .where(*where.conditions())
            .group_by(AuditEvent.result, AuditEvent.reason)
        )
        by_result: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        async with self._reports, self._storage.reading() as session:
            for result, reason, count in await session.execute(query):
                by_result[result] = by_result.get(result, 0) + count
                if reason is not None:
                    by_reason[reason] = by_reason.get(reason, 0) + count
        return AuditSummary(sum(by_result.values()), by_result, by_reason)
