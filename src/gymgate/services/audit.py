"""Reading the audit log: newest first, filtered, paged by a cursor that stays stable; its
totals, who came in, and every matching row for an export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select

from gymgate.models import AuditEvent, AuditHourly, User
from gymgate.services.audit_counts import audit_counts
from gymgate.services.audit_csv import csv_header, csv_line
from gymgate.services.low_priority import LowPriority
from gymgate.storage import Storage
from gymgate.storage.functions import joined_in_order
from gymgate.vocabulary import Conflict, DecisionMode, DenyReason, Result

__all__ = ["AuditFilter", "AuditLog", "AuditPage", "AuditSummary", "Entry", "EntryPage"]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    result: Result | None = None
    reason: DenyReason | None = None
    gate: str | None = None
    pass_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = self.kind_conditions(AuditEvent)
        if self.pass_id is not None:
            conditions.append(AuditEvent.pass_id == self.pass_id)
        if self.since is not None:
            conditions.append(AuditEvent.at >= self.since)
        if self.until is not None:
            conditions.append(AuditEvent.at < self.until)
        return conditions

    def kind_conditions(
        self, table: type[AuditEvent] | type[AuditHourly]
    ) -> list[ColumnElement[bool]]:
        """The result, reason and gate conditions, on audit rows or their hourly counts."""
        conditions: list[ColumnElement[bool]] = []
        if self.result is not None:
            conditions.append(table.result == self.result)
        if self.reason is not None:
            conditions.append(table.reason == self.reason)
        if self.gate is not None:
            conditions.append(table.gate == self.gate)
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
    by_gate: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0  # allows an offline gate let through that were a second use or revoked


@dataclass(frozen=True, slots=True)
class Entry:
    """One admission, with the member it let in (name and email, when the pass is ours)."""

    id: int
    at: datetime
    gate: str
    pass_id: str | None
    user_id: str | None
    name: str | None
    email: str | None
    mode: DecisionMode
    conflict: Conflict | None


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: list[Entry]
    next_before: int | None


class AuditLog:
    """Reading the audit log; reads never hold the gate's writers off."""

    def __init__(self, storage: Storage, *, export_chunk: int = 5000) -> None:
        self._storage = storage
        self._export_chunk = export_chunk
        # Summaries, series and export chunks take turns on one low-priority lane: one
        # read at a time (the gate's own reads always find a read connection), and however
        # many operators ask at once, reports use at most about half of one core.
        self._reports = LowPriority()

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
        """Counts by result, deny reason and gate, and the offline double entries; e.g. for
        today's totals on the operator page. From the hourly rollup plus the few rows it
        has not counted yet (gymgate.services.audit_counts), not a scan of every row."""
        by_result: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        by_gate: dict[str, int] = {}
        conflicts = 0
        async with self._reports.turn():
            counted = await audit_counts(
                self._storage, where, ("result", "reason", "gate", "conflict")
            )
        for result, reason, gate, conflict, count in counted:
            by_result[result] = by_result.get(result, 0) + count
            by_gate[gate] = by_gate.get(gate, 0) + count
            if reason is not None:
                by_reason[reason] = by_reason.get(reason, 0) + count
            if conflict is not None and result == "allow":
                conflicts += count
        return AuditSummary(sum(by_result.values()), by_result, by_reason, by_gate, conflicts)

    async def entries(
        self, where: AuditFilter, *, search: str | None, limit: int, before: int | None
    ) -> EntryPage:
        """Who came in: admissions newest first with the member's name and email, those
        whose name or email contains `search` (any case) if given."""
        query = (
            select(
                AuditEvent.id,
                AuditEvent.at,
                AuditEvent.gate,
                AuditEvent.pass_id,
                AuditEvent.user_id,
                User.name,
                User.email,
                AuditEvent.mode,
                AuditEvent.conflict,
            )
            .outerjoin(User, User.id == AuditEvent.user_id)
            .where(AuditEvent.result == "allow", *where.conditions())
        )
        if search:
            needle = search.lower()
            query = query.where(
                or_(
                    func.lower(User.name).contains(needle, autoescape=True),
                    func.lower(User.email).contains(needle, autoescape=True),
                )
            )
        if before is not None:
            query = query.where(AuditEvent.id < before)
        async with self._storage.reading() as session:
            rows = (
                await session.execute(query.order_by(AuditEvent.id.desc()).limit(limit + 1))
            ).all()
        items = [Entry(*row) for row in rows[:limit]]
        return EntryPage(items, items[-1].id if len(rows) > limit and items else None)

    async def hourly_counts(self, where: AuditFilter) -> list[tuple[str, str, int]]:
        """(UTC hour 'YYYY-MM-DD HH', result, count) for the matching events."""
        async with self._reports.turn():
            counted = await audit_counts(self._storage, where, ("hour", "result"))
        return [(hour, result, count) for hour, result, count in counted]

    async def export(self, where: AuditFilter) -> AsyncIterator[str]:
        """Every matching event as CSV text, oldest first: the header, then one text per
        chunk of rows. Each chunk is one short read (keyset paging by id), so memory stays
        flat and no read is held open between chunks (a WAL checkpoint or the sweep never
        waits on a download). The database writes and joins the lines
        (gymgate.services.audit_csv), and each chunk waits its turn on the reports' lane."""
        yield csv_header()
        chunk = _csv_chunk(where, self._export_chunk)  # one statement: compiled once, cached
        after = 0
        while True:
            async with self._reports.turn(), self._storage.reading() as session:
                text, last, count = (await session.execute(chunk, {"after": after})).one()
            if not count:
                return
            yield text
            if count < self._export_chunk:
                return
            after = last


def _csv_chunk(where: AuditFilter, size: int) -> Select[str, Any, int]:
    """(the CSV lines of the next `size` rows after id `:after`, joined; their last id; how
    many) as one row. Built once per export and run with each chunk's `after`: the
    statement is large (a CSV line is a long expression), and building it and computing
    its cache key took ~3 ms of the event loop a chunk."""
    rows = (
        select(AuditEvent.id.label("id"), csv_line().label("line"))
        .where(AuditEvent.id > bindparam("after", type_=AuditEvent.id.type), *where.conditions())
        .order_by(AuditEvent.id)
        .limit(size)
        .subquery()
    )
    return select(joined_in_order(rows.c.line, rows.c.id), func.max(rows.c.id), func.count())
