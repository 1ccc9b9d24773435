"""M3's history: 1,000,000 audit rows and 100,000 used passes, inserted in bulk by SQL itself."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import asyncpg
from testkit.databases import PostgresDatabase

from gymgate.services.audit_rollup import AuditRollup
from gymgate.settings import Settings
from gymgate.storage import open_storage

__all__ = ["AUDIT_ROWS", "USED_PASS_ROWS", "preload_postgres", "preload_sqlite", "roll_up"]

AUDIT_ROWS = 1_000_000
USED_PASS_ROWS = 100_000
_MONTH = 30 * 24 * 3600

# Rows like real ones: random 16-character pass/user ids (so the pass_id index grows the way
# it does in production), times spread over the last month, one deny in five.
_SQLITE_AUDIT = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :audit_rows)
INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256)
SELECT datetime('now', '-' || (i * 7 % :month) || ' seconds'), 'history',
       CASE WHEN i % 5 = 0 THEN 'deny' ELSE 'allow' END,
       CASE WHEN i % 5 = 0 THEN 'already_used' END,
       substr(lower(hex(randomblob(8))), 1, 16), substr(lower(hex(randomblob(8))), 1, 16),
       'history', lower(hex(randomblob(32)))
FROM n
"""
_SQLITE_USED = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :used_rows)
INSERT OR IGNORE INTO used_passes (pass_id, state, at, gate, expires_at)
SELECT substr(lower(hex(randomblob(8))), 1, 16), 'used', datetime('now', '-' || i || ' seconds'),
       'history', CAST(strftime('%s', 'now') AS INTEGER) + 86400 - i % 3600
FROM n
"""
_POSTGRES_AUDIT = """
INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256)
SELECT (now() AT TIME ZONE 'utc') - (i * 7 % $1::int) * interval '1 second', 'history',
       CASE WHEN i % 5 = 0 THEN 'deny' ELSE 'allow' END,
       CASE WHEN i % 5 = 0 THEN 'already_used' END,
       left(md5(random()::text), 16), left(md5(random()::text), 16),
       'history', md5(i::text) || md5(random()::text)
FROM generate_series(1, $2::int) AS i
"""
_POSTGRES_USED = """
INSERT INTO used_passes (pass_id, state, at, gate, expires_at)
SELECT left(md5(random()::text), 16), 'used', (now() AT TIME ZONE 'utc') - i * interval '1 second',
       'history', extract(epoch FROM now())::bigint + 86400 - i % 3600
FROM generate_series(1, $1::int) AS i
ON CONFLICT DO NOTHING
"""


def preload_sqlite(path: str) -> float:
    """Insert the history into a SQLite file; returns the seconds it took.

    Fast the usual way: the secondary indexes are dropped and rebuilt from their own DDL
    (a sort instead of a million random B-tree inserts), so they end up as the migrations
    made them, whatever those are.
    """
    started = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA cache_size=-262144")  # 256 MiB for this connection only
        connection.execute("BEGIN IMMEDIATE")
        indexes = [
            (name, sql)
            for name, sql in connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('audit_events', 'used_passes')"
            )
        ]
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        connection.execute(_SQLITE_AUDIT, {"audit_rows": AUDIT_ROWS, "month": _MONTH})
        connection.execute(_SQLITE_USED, {"used_rows": USED_PASS_ROWS})
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return time.perf_counter() - started


_POSTGRES_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('audit_events', 'used_passes')
  AND indexname NOT IN (
    SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u')
  )
"""


def preload_postgres(postgres: PostgresDatabase) -> float:
    """The same history on Postgres (indexes rebuilt the same way), vacuumed and analysed."""
    started = time.perf_counter()

    async def insert() -> None:
        connection = await asyncpg.connect(postgres.dsn)
        try:
            await connection.execute("SET maintenance_work_mem = '256MB'")
            async with connection.transaction():
                indexes = await connection.fetch(_POSTGRES_INDEXES)
                for index in indexes:
                    await connection.execute(f'DROP INDEX "{index["indexname"]}"')
                await connection.execute(_POSTGRES_AUDIT, _MONTH, AUDIT_ROWS)
                await connection.execute(_POSTGRES_USED, USED_PASS_ROWS)
                for index in indexes:
                    await connection.execute(index["indexdef"])
            # A settled history, as a server that has run for months has: vacuumed (else
            # autovacuum's pass over a million fresh rows lands inside the next measurement,
            # and P3's idle p99 read 277 ms instead of ~10) and checkpointed.
            await connection.execute("VACUUM (ANALYZE) audit_events, used_passes")
            await connection.execute("CHECKPOINT")
        finally:
            await connection.close()

    asyncio.run(insert())
    return time.perf_counter() - started


def roll_up(settings: Settings) -> float:
    """Count the preloaded history into the hourly audit rollup, as a running server does
    for rows as they arrive (a million at once would otherwise be counted in the background
    during the first measurements); returns the seconds it took."""
    started = time.perf_counter()

    async def catch_up() -> None:
        storage = open_storage(settings)
        try:
            await AuditRollup(storage).catch_up()
        finally:
            await storage.close()

    asyncio.run(catch_up())
    return time.perf_counter() - started
