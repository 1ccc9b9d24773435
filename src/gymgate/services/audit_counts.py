"""Audit totals from the hourly rollup plus the rows it has not counted, in one snapshot.

A count over [since, until) adds up: the rolled-up hours wholly inside the range
(audit_hourly), and live from audit_events, the rows past the rollup's mark (ids above
`rolled_through`, whatever their time) and the rolled rows in the range's partial first
and last hours. The live parts stay small: the rows since the last roll (seconds), found by
id, and at most two hours' rows, found by the `at` index. The answer is what a scan of
audit_events at that moment would say (tests/services/test_audit_counts.py compares them).
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import BigInteger, ColumnElement, bindparam, cast, func, select, union_all

from gymgate.models import AuditEvent, AuditHourly, AuditRollupMark
from gymgate.services.audit_rollup import MARK_ID, hour_of
from gymgate.storage import Storage
from gymgate.storage.functions import utc_hour

if TYPE_CHECKING:
    from gymgate.services.audit import AuditFilter

__all__ = ["Column", "audit_counts"]

Column = Literal["hour", "result", "reason", "gate", "conflict"]
HOUR = timedelta(hours=1)
Span = tuple[datetime | None, datetime | None]


async def audit_counts(
    storage: Storage, where: AuditFilter, by: tuple[Column, ...]
) -> list[tuple[Any, ...]]:
    """(*by, count) rows for the events `where` selects: `hour` is the UTC hour as
    'YYYY-MM-DD HH' (utc_hour), reason and conflict are None when absent."""
    async with storage.reading(snapshot=True) as session:
        mark = 0
        if where.pass_id is None:  # the rollup does not keep pass ids: count those live
            mark = await session.scalar(_MARK) or 0
        query = _query(where, by, rolled=mark > 0)
        return [tuple(row) for row in await session.execute(query, {"mark": mark})]


_MARK = select(AuditRollupMark.rolled_through).where(AuditRollupMark.id == MARK_ID)


@functools.lru_cache(maxsize=256)  # an operator page asks the same few again and again
def _query(where: AuditFilter, by: tuple[Column, ...], *, rolled: bool) -> Any:
    """One statement: the parts below, added up per `by`; the mark is a parameter."""
    mark = bindparam("mark", type_=BigInteger)
    parts = [_live(where, by, AuditEvent.id > mark, tail=True)]
    if rolled:
        whole, edges = _split(where.since, where.until)
        if whole is not None:
            parts.append(_rolled(where, by, whole))
        parts += [
            _live(dataclasses.replace(where, since=a, until=b), by, AuditEvent.id <= mark)
            for a, b in edges
        ]
    counted = union_all(*parts).subquery()
    columns = [counted.c[name] for name in by]
    return select(*columns, cast(func.sum(counted.c.n), BigInteger)).group_by(*columns)


def _split(since: datetime | None, until: datetime | None) -> tuple[Span | None, list[Span]]:
    """[since, until) as the whole hours inside it, and the partial hours at its ends."""
    try:
        lo = None if since is None else _ceil_hour(since)
    except OverflowError:  # within an hour of year 9999's end: no whole hour in it
        return None, [(since, until)]
    hi = None if until is None else hour_of(until)
    if lo is not None and hi is not None and lo >= hi:
        return None, [(since, until)]
    edges: list[Span] = []
    if since is not None and lo is not None and since < lo:
        edges.append((since, lo))
    if until is not None and hi is not None and hi < until:
        edges.append((hi, until))
    return (lo, hi), edges


def _ceil_hour(when: datetime) -> datetime:
    start = hour_of(when)
    return start if start == when else start + HOUR


def _live(
    where: AuditFilter, by: tuple[Column, ...], *extra: ColumnElement[bool], tail: bool = False
) -> Any:
    table: dict[Column, Any] = {
        "hour": utc_hour(AuditEvent.at),
        "result": AuditEvent.result,
        "reason": AuditEvent.reason,
        "gate": AuditEvent.gate,
        "conflict": AuditEvent.conflict,
    }
    columns = [table[name].label(name) for name in by]
    query = (
        select(*columns, func.count().label("n"))
        .where(*where.conditions(), *extra)
        .group_by(*columns)
    )
    # The rows past the mark are the newest few: found by id, never by walking the `at`
    # index over a whole range (SQLite cannot tell which is smaller; Postgres can).
    return query.with_hint(AuditEvent, "NOT INDEXED", "sqlite") if tail else query


def _rolled(where: AuditFilter, by: tuple[Column, ...], hours: Span) -> Any:
    table: dict[Column, Any] = {
        "hour": utc_hour(AuditHourly.hour),
        "result": AuditHourly.result,
        "reason": func.nullif(AuditHourly.reason, ""),
        "gate": AuditHourly.gate,
        "conflict": func.nullif(AuditHourly.conflict, ""),
    }
    lo, hi = hours
    conditions = where.kind_conditions(AuditHourly)
    if lo is not None:
        conditions.append(AuditHourly.hour >= lo)
    if hi is not None:
        conditions.append(AuditHourly.hour < hi)
    columns = [table[name].label(name) for name in by]
    return select(*columns, AuditHourly.events.label("n")).where(*conditions)
