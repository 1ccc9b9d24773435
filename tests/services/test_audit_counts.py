"""Audit totals from the hourly rollup plus the rows it has not counted equal a scan of
every row: for random rows across hours and gates, rows arriving late with old scan times,
half-done rollups, retention deletes, and ranges cut at any minute of any time zone."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from gymgate.models import AuditEvent, AuditRollupMark
from gymgate.runtime import Runtime
from gymgate.services.audit import AuditFilter, AuditSummary
from gymgate.services.audit_rollup import AuditRollup
from gymgate.storage.functions import HOUR_FORMAT
from gymgate.vocabulary import Conflict, DenyReason, Result

BASE = datetime(2027, 1, 10, tzinfo=UTC)
GATES = ("north", "south", "lane-3")
OUTCOMES: tuple[tuple[Result, DenyReason | None, Conflict | None], ...] = (
    ("allow", None, None),
    ("allow", None, "already_used"),
    ("allow", None, "revoked"),
    ("deny", "expired", None),
    ("deny", "already_used", None),
    ("deny", "bad_signature", None),
)
ZONES = ("UTC", "Europe/Lisbon", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns")


@dataclass(frozen=True)
class Event:
    at: datetime
    gate: str
    result: str
    reason: str | None
    conflict: str | None


def _row(rng: random.Random, hours: int = 60) -> dict[str, object]:
    result, reason, conflict = rng.choice(OUTCOMES)
    moment = timedelta(seconds=rng.randrange(hours * 3600), microseconds=rng.randrange(10**6))
    return {
        "at": BASE + moment,
        "gate": rng.choice(GATES),
        "result": result,
        "reason": reason,
        "conflict": conflict,
        "mode": "offline" if conflict else "online",
        "token_sha256": "0" * 64,
    }


async def add(runtime: Runtime, rng: random.Random, count: int, *, hours: int = 60) -> None:
    """`count` rows at random times within `hours` of BASE (any order: late rows too)."""
    async with runtime.storage.writing() as session:
        await session.execute(insert(AuditEvent), [_row(rng, hours) for _ in range(count)])


async def every_event(runtime: Runtime) -> list[Event]:
    columns = (
        AuditEvent.at,
        AuditEvent.gate,
        AuditEvent.result,
        AuditEvent.reason,
        AuditEvent.conflict,
    )
    async with runtime.storage.reading() as session:
        return [Event(*row) for row in await session.execute(select(*columns))]


def scanned(events: list[Event], where: AuditFilter) -> AuditSummary:
    """The summary by looking at every row."""
    chosen = [
        e
        for e in events
        if (where.since is None or e.at >= where.since)
        and (where.until is None or e.at < where.until)
        and where.gate in (None, e.gate)
        and where.result in (None, e.result)
        and where.reason in (None, e.reason)
    ]
    return AuditSummary(
        total=len(chosen),
        by_result=dict(Counter(e.result for e in chosen)),
        by_reason=dict(Counter(e.reason for e in chosen if e.reason is not None)),
        by_gate=dict(Counter(e.gate for e in chosen)),
        conflicts=sum(1 for e in chosen if e.result == "allow" and e.conflict is not None),
    )


def random_filter(rng: random.Random) -> AuditFilter:
    """A range cut at a random minute of a random zone's local time (or open), maybe a gate,
    a result or a reason."""
    zone = ZoneInfo(rng.choice(ZONES))
    local = BASE.astimezone(zone).replace(tzinfo=None)

    def moment() -> datetime | None:
        if rng.random() < 0.2:
            return None
        minutes = rng.randrange(-120, 62 * 60)
        if rng.random() < 0.3:
            minutes -= minutes % 60  # a whole local hour (not a UTC one in every zone)
        return (local + timedelta(minutes=minutes)).replace(tzinfo=zone).astimezone(UTC)

    since, until = moment(), moment()
    if since is not None and until is not None and until <= since:
        since, until = until, since + timedelta(minutes=rng.choice((1, 59, 61, 600)))
    result, reason, _ = rng.choice(OUTCOMES)
    return AuditFilter(
        since=since,
        until=until,
        gate=rng.choice((None, None, *GATES)),
        result=rng.choice([None, None, result]),
        reason=rng.choice([None, None, reason]),
    )


async def assert_counts_match_a_scan(runtime: Runtime, rng: random.Random, tries: int = 40) -> None:
    events = await every_event(runtime)
    for _ in range(tries):
        where = random_filter(rng)
        assert await runtime.audit.summary(where) == scanned(events, where), where
        if where.since is not None and where.until is not None:
            hourly = await runtime.audit.hourly_counts(where)
            expected = Counter(
                (e.at.strftime(HOUR_FORMAT), e.result)
                for e in events
                if where.since <= e.at < where.until
                and where.gate in (None, e.gate)
                and where.result in (None, e.result)
                and where.reason in (None, e.reason)
            )
            assert Counter({(h, r): n for h, r, n in hourly}) == expected, where


@pytest.mark.parametrize("seed", [1, 2])
async def test_rollup_plus_live_rows_equal_a_scan(runtime: Runtime, seed: int) -> None:
    rng = random.Random(seed)
    rollup = AuditRollup(runtime.storage, batch=37)  # small batches: marks mid-hour, mid-gate
    await add(runtime, rng, 400)
    await assert_counts_match_a_scan(runtime, rng)  # nothing rolled up yet

    for _ in range(5):
        await rollup.roll()
    await assert_counts_match_a_scan(runtime, rng)  # partly rolled up

    await rollup.catch_up()
    await add(runtime, rng, 150, hours=3)  # late: offline uploads with scan times hours ago
    await assert_counts_match_a_scan(runtime, rng)

    await rollup.catch_up()
    await assert_counts_match_a_scan(runtime, rng)


async def test_retention_keeps_the_rollup_exact(runtime: Runtime) -> None:
    rng = random.Random(3)
    rollup = AuditRollup(runtime.storage, batch=50)
    await add(runtime, rng, 300)
    await rollup.roll()
    await rollup.roll()

    await runtime.retention.prune(BASE + timedelta(hours=20, minutes=17))
    await assert_counts_match_a_scan(runtime, rng)
    await rollup.catch_up()
    await assert_counts_match_a_scan(runtime, rng)

    # Every row goes, then new ones come: SQLite may give them the deleted rows' ids.
    await runtime.retention.prune(BASE + timedelta(days=30))
    await add(runtime, rng, 60)
    await assert_counts_match_a_scan(runtime, rng, tries=15)
    await rollup.catch_up()
    await assert_counts_match_a_scan(runtime, rng, tries=15)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_row_committed_after_a_newer_one_is_still_counted(runtime: Runtime) -> None:
    """Postgres hands out ids before commit: id n may appear after id n+1. The rollup must
    not move its mark past n while n's transaction is open."""
    rng = random.Random(4)
    rollup = AuditRollup(runtime.storage)
    async with runtime.storage.writing() as slow:
        await slow.execute(insert(AuditEvent), [_row(rng)])  # takes id 1, not committed
        await add(runtime, rng, 5)  # ids 2-6, committed
        await rollup.catch_up()
    await rollup.catch_up()

    async with runtime.storage.reading() as session:
        assert await session.scalar(select(AuditRollupMark.rolled_through)) == 6
    assert (await runtime.audit.summary(AuditFilter())).total == 6
    await assert_counts_match_a_scan(runtime, rng, tries=10)
