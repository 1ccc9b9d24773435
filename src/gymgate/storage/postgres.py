"""The Postgres backend (asyncpg): bounded waits everywhere, the check-in in one statement."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from gymgate.binding import moved_away
from gymgate.decisions import Decision, first_name
from gymgate.errors import StorageUnavailable
from gymgate.settings import Settings
from gymgate.storage.errors import translate, translated
from gymgate.storage.interface import Backend, Scan
from gymgate.storage.sql import SqlStorage
from gymgate.tokens import PassClaims

__all__ = ["POSTGRES_TIMEOUT_SECONDS", "PostgresStorage"]

# Longest wait to connect to Postgres, for a pooled connection, and for any one statement.
POSTGRES_TIMEOUT_SECONDS = 5
# Check-ins run on a few connections of their own, kept open (see _CheckInConnections).
CHECK_IN_CONNECTIONS = 4

# Postgres runs the check-in as one statement, its own transaction. A conflict takes the
# existing row through a no-op DO UPDATE, which waits for a concurrent insert of the same
# pass and returns that row (so its state is never missed, unlike a snapshot read);
# xmax = 0 marks a row this statement inserted. The audit row is written by the same
# statement, from the same decision, and the member's name is read with it (for the gate).
_CHECK_IN = """
WITH used AS (
    INSERT INTO used_passes AS u (pass_id, state, at, gate, expires_at)
    VALUES ($1, 'used', $2, $3, $4)
    ON CONFLICT (pass_id) DO UPDATE SET state = u.state
    RETURNING (u.xmax = 0) AS admitted, u.state, u.at, u.gate
), audit AS (
    INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256)
    SELECT $2, $3,
           CASE WHEN admitted THEN 'allow' ELSE 'deny' END,
           CASE WHEN admitted THEN NULL
                WHEN used.state = 'revoked' THEN 'revoked'
                ELSE 'already_used' END,
           $1, $5, $6, $7
    FROM used
)
SELECT admitted, state, at, gate, (SELECT name FROM users WHERE id = $5) AS holder FROM used
"""
_AUDIT_DENY = """
INSERT INTO audit_events (at, gate, result, reason, token_sha256) VALUES ($1, $2, 'deny', $3, $4)
"""
# A bound pass: its binding row read FOR SHARE in the check-in's transaction, so a move to
# another phone either waits for this admission or is seen by it (see
# gymgate.services.device_bindings).
_BOUND_TO = "SELECT jkt FROM pass_bindings WHERE pass_id = $1 FOR SHARE"
_AUDIT_MOVED = """
INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256)
VALUES ($1, $2, 'deny', 'revoked', $3, $4, $5, $6)
"""
_NOW = "SELECT extract(epoch FROM clock_timestamp())::float8"


class PostgresStorage(SqlStorage):
    """gymgate's tables on a Postgres server, shared by any number of gymgate servers."""

    backend: Backend = "postgresql"

    def __init__(self, settings: Settings) -> None:
        engine = create_async_engine(
            settings.database_url,
            pool_size=10,
            max_overflow=10,
            pool_recycle=1800,
            # A busy pool answers 503 within the README's 5 s, not after the default 30 s.
            pool_timeout=POSTGRES_TIMEOUT_SECONDS,
            # A network partition must become a 503 within seconds, not a gate that hangs
            # (asyncpg waits 60 s to connect and forever for an answer by default).
            connect_args={
                "timeout": POSTGRES_TIMEOUT_SECONDS,
                "command_timeout": POSTGRES_TIMEOUT_SECONDS,
            },
        )
        super().__init__(writes=engine, reads=engine)
        self._engine = engine
        self._check_ins = _CheckInConnections(settings.database_url)

    async def record_scan(self, scan: Scan) -> Decision:
        """The same transaction as SQLite's, as one statement: one round trip."""
        decision: Decision = await self._check_ins.run(_record_in_one_statement, scan)
        return decision

    async def close(self) -> None:
        await self._check_ins.close()
        await super().close()

    async def clock_offset(self) -> float:
        """The server's clock minus ours, read at the midpoint of one round trip."""
        started = time.time()
        database_now: float = await self._on_driver(_fetch_now)
        return database_now - (started + time.time()) / 2

    async def _on_driver(self, call: Any, *args: Any) -> Any:
        """`call(asyncpg_connection, *args)` on a pooled connection, outside any transaction:
        the driver's own prepared-statement cache, one round trip."""
        with translated():
            async with self._engine.connect() as connection:
                raw = await connection.get_raw_connection()
                try:
                    return await call(raw.driver_connection, *args)
                except Exception as error:
                    # Raw driver errors bypass SQLAlchemy: drop a broken connection
                    # ourselves; translated() says what the error means.
                    if isinstance(translate(error), StorageUnavailable):
                        await connection.invalidate()
                    raise


class _CheckInConnections:
    """The gate's own connections: an asyncpg pool of CHECK_IN_CONNECTIONS, opened on first
    use and kept open.

    Through SQLAlchemy's pool, which reports and issuance share, a burst of scans overflowed
    it, and every overflow connection was opened and closed around its one statement: a TCP
    and authentication handshake and a freshly prepared check-in per scan, half the gate's
    time on Postgres at saturation. Here a scan waits (at most POSTGRES_TIMEOUT_SECONDS) for
    one of a few warm connections, each with the check-in prepared once. Nothing is reset
    between scans, because a check-in leaves nothing behind: its statements autocommit and its
    one explicit transaction (a bound pass) is closed by its context manager; a connection
    left inside a transaction by a cancelled scan is rolled back before its next use.
    """

    def __init__(self, database_url: str) -> None:
        self._dsn = make_url(database_url).set(drivername="postgresql")
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def run(self, call: Any, *args: Any) -> Any:
        """`call(asyncpg_connection, *args)` on one of the gate's connections.

        A connection the server dropped while it was idle (a restart, an administrator)
        refuses its next statement before sending anything; that scan moves to a fresh
        connection. A connection lost while a statement was on its way is not retried: the
        statement may have committed, so the scan is answered 503 and the gate stays shut.
        """
        with translated():
            pool = self._pool or await self._open()
            for retry in (False, True):
                async with pool.acquire(timeout=POSTGRES_TIMEOUT_SECONDS) as connection:
                    try:
                        return await call(connection, *args)
                    except _NOTHING_SENT as error:
                        gone = connection.is_closed() or isinstance(error, _DROPPED)
                        if retry or not gone:
                            raise
                        connection.terminate()  # the pool opens a new one in its place
            raise AssertionError("unreachable")

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn.render_as_string(hide_password=False),
                    min_size=0,
                    max_size=CHECK_IN_CONNECTIONS,
                    timeout=POSTGRES_TIMEOUT_SECONDS,
                    command_timeout=POSTGRES_TIMEOUT_SECONDS,
                    reset=_end_open_transaction,
                )
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), POSTGRES_TIMEOUT_SECONDS)
            except TimeoutError:
                self._pool.terminate()
            self._pool = None


# Raised by asyncpg before a statement leaves: the connection is closed, or its protocol is
# still busy with the server's goodbye (a connection terminated while idle).
_NOTHING_SENT = (asyncpg.InterfaceError, asyncpg.InternalClientError)
_DROPPED = asyncpg.InternalClientError


async def _end_open_transaction(connection: asyncpg.Connection) -> None:
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def _fetch_now(driver: Any) -> float:
    return float(await driver.fetchval(_NOW))


async def _record_in_one_statement(driver: Any, scan: Scan) -> Decision:
    naive_utc = scan.at.astimezone(UTC).replace(tzinfo=None)  # as UtcDateTime stores it
    verdict = scan.verdict
    claims = verdict.claims
    if not verdict.allowed or claims is None:
        await driver.execute(_AUDIT_DENY, naive_utc, scan.gate, verdict.reason, scan.fingerprint)
        return verdict
    if claims.jkt is None:
        return await _check_in(driver, scan, claims, naive_utc)
    async with driver.transaction():
        if moved_away(await driver.fetchval(_BOUND_TO, claims.pass_id), claims.jkt):
            await driver.execute(
                _AUDIT_MOVED,
                naive_utc,
                scan.gate,
                claims.pass_id,
                claims.user_id,
                claims.kid,
                scan.fingerprint,
            )
            return Decision("deny", "revoked", claims)
        return await _check_in(driver, scan, claims, naive_utc)


async def _check_in(driver: Any, scan: Scan, claims: PassClaims, naive_utc: datetime) -> Decision:
    row = await driver.fetchrow(
        _CHECK_IN,
        claims.pass_id,
        naive_utc,
        scan.gate,
        claims.expires_at,
        claims.user_id,
        claims.kid,
        scan.fingerprint,
    )
    if row["admitted"]:
        return Decision("allow", claims=claims, holder=first_name(row["holder"]))
    if row["state"] == "revoked":
        return Decision("deny", "revoked", claims)
    used_at: datetime = row["at"].replace(tzinfo=UTC)
    return Decision("deny", "already_used", claims, used_at, row["gate"])
