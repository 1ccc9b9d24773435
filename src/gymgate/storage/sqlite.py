"""The embedded SQLite backend: the single writer for hot transactions, pooled ORM sessions.

Three ways into the file, each set up once (gymgate.storage.sqlite_setup):
- the writer (gymgate.storage.sqlite_writer): check-ins and pass issuing, inline, one step;
- a write engine (aiosqlite, one connection, BEGIN IMMEDIATE) for ORM writes;
- a read engine (aiosqlite, plain BEGIN): reads never take the write lock, so a long report
  cannot hold the gate's writers off.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gymgate.decisions import Decision, first_name
from gymgate.settings import Settings
from gymgate.storage.errors import translated
from gymgate.storage.interface import Backend, Scan
from gymgate.storage.sql import SqlStorage
from gymgate.storage.sqlite_setup import configure_sqlite, create_sqlite_file
from gymgate.storage.sqlite_writer import SqliteWriter
from gymgate.tokens import PassClaims

__all__ = ["SqliteStorage"]

T = TypeVar("T")

# The check-in is the hot path, so its SQL is written out and run on the driver: SQLAlchemy's
# per-statement work cost more than SQLite's. Timestamps are stored the way UtcDateTime
# stores them (naive UTC, SQLAlchemy's SQLite text format), so the ORM reads these rows like
# any other. Who was let in, for the gate's screen, comes back from the insert itself (a
# primary-key lookup in RETURNING): an allow costs no further statement.
_ADMIT = (
    "INSERT INTO used_passes (pass_id, state, at, gate, expires_at) "
    "VALUES (?1, 'used', ?2, ?3, ?4) "
    "ON CONFLICT (pass_id) DO NOTHING RETURNING (SELECT name FROM users WHERE id = ?5)"
)
# A bound pass is admitted only while it is on the phone that signed the code: one statement,
# so the allow path costs no extra round (a miss is told apart below, by _EARLIER).
_ADMIT_BOUND = (
    "INSERT INTO used_passes (pass_id, state, at, gate, expires_at) "
    "SELECT ?1, 'used', ?2, ?3, ?4 WHERE NOT EXISTS "
    "(SELECT 1 FROM pass_bindings WHERE pass_id = ?1 AND jkt <> ?6) "
    "ON CONFLICT (pass_id) DO NOTHING RETURNING (SELECT name FROM users WHERE id = ?5)"
)
_EARLIER = "SELECT state, at, gate FROM used_passes WHERE pass_id = ?"
_AUDIT = (
    "INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_TIME = "%Y-%m-%d %H:%M:%S.%f"
_READ_CONNECTIONS = 4


class SqliteStorage(SqlStorage):
    """gymgate's tables in one SQLite file, shared safely by many processes."""

    backend: Backend = "sqlite"

    def __init__(self, settings: Settings) -> None:
        create_sqlite_file(settings.database_url)
        self._writer = SqliteWriter(settings)
        super().__init__(
            writes=_engine(settings, pool_size=1, begin="BEGIN IMMEDIATE"),
            reads=_engine(settings, pool_size=_READ_CONNECTIONS, begin="BEGIN"),
        )

    async def record_scan(self, scan: Scan) -> Decision:
        """Admit once (if the token holds), then the audit row, in one writer transaction."""
        with translated():
            return await self._writer.run_on_driver(partial(_record, scan))

    async def write(self, work: Callable[[Connection], T]) -> T:
        """`work` on the writer: one step, never holding the lock across an await."""
        with translated():
            return await self._writer.run(work)

    async def clock_offset(self) -> float:
        """The host's clock minus ours: an embedded database's clock is its machine's.

        Read from the kernel through /proc, which a process-level clock override (say,
        libfaketime) does not reach, so a server with a faked clock still finds out.
        """
        kernel_now = _kernel_time()
        return 0.0 if kernel_now is None else kernel_now - time.time()

    async def close(self) -> None:
        await self._writer.close()
        await super().close()


def _kernel_time() -> float | None:
    """Boot time plus uptime, to within a second (None where /proc is missing)."""
    try:
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, StopIteration, ValueError):
        return None  # not Linux: nothing else to compare with
    return boot + uptime


def _engine(settings: Settings, *, pool_size: int, begin: str) -> AsyncEngine:
    # Writes: SQLite admits one writer and every write transaction is BEGIN IMMEDIATE, so a
    # second connection buys a process nothing: with one, concurrent requests queue on the
    # pool and are woken the moment it is free, instead of in SQLite's busy handler, which
    # sleeps and polls (up to 100 ms a try). Other processes still meet the busy timeout.
    engine = create_async_engine(
        settings.database_url,
        connect_args={"timeout": 30},
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=settings.sqlite_busy_timeout_ms / 1000,
    )
    configure_sqlite(engine.sync_engine, settings, settings.sqlite_busy_timeout_ms, begin=begin)
    return engine


def _record(scan: Scan, sqlite: sqlite3.Connection) -> Decision:
    """In the writer's transaction: admit once if the token holds, then the audit row."""
    stamp = scan.at.astimezone(UTC).strftime(_TIME)
    decision = scan.verdict
    if decision.allowed and decision.claims is not None:
        decision = _admit_once(sqlite, decision.claims, scan.gate, stamp)
    claims = decision.claims
    sqlite.execute(
        _AUDIT,
        (
            stamp,
            scan.gate,
            decision.result,
            decision.reason,
            claims.pass_id if claims else None,
            claims.user_id if claims else None,
            claims.kid if claims else None,
            scan.fingerprint,
        ),
    )
    return decision


def _admit_once(sqlite: sqlite3.Connection, claims: PassClaims, gate: str, stamp: str) -> Decision:
    row = (claims.pass_id, stamp, gate, claims.expires_at, claims.user_id)
    if claims.jkt is None:
        admitted = sqlite.execute(_ADMIT, row)
    else:
        admitted = sqlite.execute(_ADMIT_BOUND, (*row, claims.jkt))
    holder = admitted.fetchone()
    if holder is not None:
        return Decision("allow", claims=claims, holder=first_name(holder[0]))
    earlier = sqlite.execute(_EARLIER, (claims.pass_id,)).fetchone()
    if earlier is None:  # not used, so the bound check stopped it: the pass moved away
        return Decision("deny", "revoked", claims)
    state, at, used_gate = earlier
    if state == "revoked":
        return Decision("deny", "revoked", claims)
    used_at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    return Decision("deny", "already_used", claims, used_at, used_gate)
