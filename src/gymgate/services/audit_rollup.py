"""The audit rollup: audit rows counted per hour into audit_hourly, off the gate's path.

A background job counts the rows with ids above the mark (`audit_rollup.rolled_through`) and
up to the settled horizon (gymgate.storage.audit_horizon), in batches: the counting is a read
on a read connection, and only its result (a few rows of counts) is written, in a short
transaction that also moves the mark, and only if nothing changed the rollup meanwhile
(`version`). The mark follows insertion order (ids), not `at`: an offline upload carries its
scan time from hours ago and is still counted, into its own past hour. The check-in itself
writes nothing more than before.

Invariant: audit_hourly holds exactly the counts of the audit rows with id <= rolled_through.
Audit retention keeps it (`forget`): rows it deletes at or below the mark are subtracted in
the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.background import in_background
from gymgate.models import AuditEvent, AuditHourly, AuditRollupMark
from gymgate.storage import Storage
from gymgate.storage.audit_horizon import AuditHorizon
from gymgate.storage.functions import HOUR_FORMAT, utc_hour
from gymgate.storage.interface import Insert

__all__ = ["ROLL_BATCH", "AuditRollup", "forget", "hour_of"]

# Ids counted per read: tens of milliseconds of SQLite on a read connection at most.
ROLL_BATCH = 20_000
ROLL_INTERVAL_SECONDS = 5.0
MARK_ID = 1

log = logging.getLogger("gymgate")

# (hour, gate, result, reason or '', conflict or '')
Key = tuple[datetime, str, str, str, str]


def hour_of(at: datetime) -> datetime:
    """The start of the UTC hour `at` falls in (what utc_hour names, as a time)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class AuditRollup:
    """Counts new audit rows into audit_hourly; `running()` does it on a timer."""

    def __init__(self, storage: Storage, *, batch: int = ROLL_BATCH) -> None:
        self._storage = storage
        self._horizon = AuditHorizon(storage)
        self._batch = batch
        # After a roll: whether settled rows were left for the next batch.
        self.behind = False

    async def roll(self) -> bool:
        """Count one batch of settled rows past the mark; False when there was none (or
        another server or the retention moved first: the next call starts afresh)."""
        horizon = await self._horizon.settled()
        if horizon is None:
            return False
        async with self._storage.reading(snapshot=True) as session:
            mark = (await session.execute(_mark_query())).one_or_none()
            if mark is None or mark.rolled_through >= horizon:
                return False
            upto = min(horizon, mark.rolled_through + self._batch)
            self.behind = upto < horizon
            counted = (await session.execute(_count_query(mark.rolled_through, upto))).all()
        counts = Counter({_key(row): int(row.events) for row in counted})
        land = partial(
            _land,
            upsert=_upsert(self._storage.insert(AuditHourly)),
            counts=counts,
            version=mark.version,
            after=mark.rolled_through,
            upto=upto,
        )
        return await self._storage.write(land)

    async def catch_up(self) -> None:
        """Roll until every settled row is counted (start-up, tests, benchmarks)."""
        rolled = True
        while rolled:  # each roll awaits its read: the loop serves requests in between
            rolled = await self.roll()

    async def run_forever(self) -> None:
        while True:
            # First a pause: a server starting (or a test's app) meets no rollup while it
            # sets up its own connections; summaries are exact without it meanwhile.
            await asyncio.sleep(ROLL_INTERVAL_SECONDS)
            try:
                # Up to the horizon seen now, not catch_up(): under a steady stream of scans
                # each roll finds a few new rows, and the round never ended (7 % of the event
                # loop on Postgres). What arrives meanwhile waits for the next round.
                while await self.roll() and self.behind:
                    pass
            except Exception as error:  # retried next round; summaries stay exact meanwhile
                log.warning("audit rollup failed: %s", type(error).__name__)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with in_background(self.run_forever):
            yield


async def forget(session: AsyncSession, insert: Insert, deleted: Iterable[Any]) -> None:
    """In audit retention's transaction, right after it deleted `deleted` (rows of id, at,
    gate, result, reason, conflict): subtract those at or below the mark, and lower the mark
    below any id the deletion frees for reuse (SQLite hands out the largest id plus one).
    The mark's version moves, so a rollup counted before this commit does not land."""
    moved = await session.execute(
        update(AuditRollupMark)
        .where(AuditRollupMark.id == MARK_ID)
        .values(version=AuditRollupMark.version + 1)
        .returning(AuditRollupMark.rolled_through)
    )
    rolled = moved.scalar() or 0  # no mark row (not migrated this far): nothing rolled
    gone = Counter(_key(row) for row in deleted if row.id <= rolled)
    if gone:
        await session.execute(_upsert(insert), _values(gone, sign=-1))
        await session.execute(
            delete(AuditHourly).where(
                AuditHourly.hour.in_({key[0] for key in gone}), AuditHourly.events == 0
            )
        )
    survivor = await session.scalar(select(func.max(AuditEvent.id))) or 0
    if survivor < rolled:
        await session.execute(
            update(AuditRollupMark)
            .where(AuditRollupMark.id == MARK_ID)
            .values(rolled_through=survivor)
        )


def _mark_query() -> Any:
    return select(AuditRollupMark.rolled_through, AuditRollupMark.version).where(
        AuditRollupMark.id == MARK_ID
    )


def _count_query(after: int, upto: int) -> Any:
    hour = utc_hour(AuditEvent.at)
    columns = (
        hour,
        AuditEvent.gate,
        AuditEvent.result,
        func.coalesce(AuditEvent.reason, ""),
        func.coalesce(AuditEvent.conflict, ""),
    )
    return (
        select(*columns, func.count().label("events"))
        .where(AuditEvent.id > after, AuditEvent.id <= upto)
        .group_by(*columns)
    )


def _key(row: Sequence[Any]) -> Key:
    """A counted group (hour text first) or an audit row (id, at, ...) as a rollup key."""
    if isinstance(row[0], str):
        hour = datetime.strptime(row[0], HOUR_FORMAT).replace(tzinfo=UTC)
        return (hour, row[1], row[2], row[3], row[4])
    _, at, gate, result, reason, conflict = row
    return (hour_of(at), gate, result, reason or "", conflict or "")


def _upsert(insert: Insert) -> Any:
    """audit_hourly's INSERT that adds to a count already there (executed with _values)."""
    return insert.on_conflict_do_update(
        index_elements=["hour", "gate", "result", "reason", "conflict"],
        set_={"events": AuditHourly.events + insert.excluded.events},
    )


def _values(counts: Counter[Key], *, sign: int = 1) -> list[dict[str, Any]]:
    return [
        {"hour": h, "gate": g, "result": r, "reason": why, "conflict": c, "events": sign * n}
        for (h, g, r, why, c), n in counts.items()
    ]


def _land(
    connection: Connection,
    upsert: Any,
    counts: Counter[Key],
    *,
    version: int,
    after: int,
    upto: int,
) -> bool:
    """Move the mark from `after` to `upto` and add `counts`, if the mark is as it was read."""
    moved = connection.execute(
        update(AuditRollupMark)
        .where(
            AuditRollupMark.id == MARK_ID,
            AuditRollupMark.version == version,
            AuditRollupMark.rolled_through == after,
        )
        .values(rolled_through=upto, version=AuditRollupMark.version + 1)
    )
    if moved.rowcount != 1:
        return False
    if counts:
        connection.execute(upsert, _values(counts))
    return True
