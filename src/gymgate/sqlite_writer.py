"""SQLite's write path for short transactions (a check-in): one connection, run in one step.

Why not the async pool: aiosqlite runs every driver call on its own thread, and a check-in
through SQLAlchemy is about a dozen such calls. Each hop back needs the GIL, which a busy event
loop hands over only every switch interval (5 ms), so under load the hops, not SQLite, set the
latency. A check-in's statements take tens of microseconds and, in WAL with
`synchronous=NORMAL`, commit without an fsync, so they run here inline, in one step: the
write lock is never held across an await, so nothing in this process ever waits on it.

Waiting never blocks the loop: BEGIN IMMEDIATE fails at once (busy timeout 0) when another
process or connection holds the lock, and we retry after an asyncio sleep until
GYMGATE_SQLITE_BUSY_TIMEOUT_MS has passed. WAL checkpoints, which fsync, run on a worker
thread every CHECKPOINT_EVERY_COMMITS commits instead of inside a commit. With
`synchronous=FULL` or `EXTRA` every commit fsyncs, so those levels run the same transaction
on one worker thread, off the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from gymgate.settings import Settings

__all__ = ["SqliteWriter"]

T = TypeVar("T")
# A check-in adds about 6 pages to the WAL: this is SQLite's own autocheckpoint (1000 pages).
CHECKPOINT_EVERY_COMMITS = 160
_INLINE_LEVELS = ("OFF", "NORMAL")


class SqliteWriter:
    """Runs `work(connection)` in one BEGIN IMMEDIATE … COMMIT on a dedicated connection."""

    def __init__(self, settings: Settings) -> None:
        url = make_url(settings.database_url).set(drivername="sqlite")
        self._path = url.database or ""
        self._busy_timeout = settings.sqlite_busy_timeout_ms / 1000
        inline = settings.sqlite_synchronous in _INLINE_LEVELS
        self._executor = (
            None if inline else ThreadPoolExecutor(1, thread_name_prefix="gymgate-sqlite")
        )
        busy_ms = 0 if inline else settings.sqlite_busy_timeout_ms
        self.engine = create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
        )
        pragmas = (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA synchronous={settings.sqlite_synchronous}",
            f"PRAGMA busy_timeout={busy_ms}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA wal_autocheckpoint=0",  # checkpoints run on a thread, see _after_commit
        )

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
            for pragma in pragmas:
                dbapi_connection.execute(pragma)

        @event.listens_for(self.engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        self._connection: Connection | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    async def run(self, work: Callable[[Connection], T]) -> T:
        """work's result, committed; OperationalError if the lock stays taken too long."""
        return await self._retrying(self._transaction, work)

    async def run_on_driver(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Like run, with the bare sqlite3 connection: nothing between the statements."""
        return await self._retrying(self._driver_transaction, work)

    async def _retrying(self, transaction: Callable[[Any], T], work: Any) -> T:
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.0005
        while True:
            try:
                if self._executor is None:
                    result = transaction(work)
                else:
                    loop = asyncio.get_running_loop()
                    result = await loop.run_in_executor(self._executor, transaction, work)
            except OperationalError as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(delay)  # someone else writes: let them finish
                delay = min(delay * 2, 0.01)
                continue
            self._after_commit()
            return result

    def _open(self) -> Connection:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            # Kept open between transactions: no pool checkout and reset per scan.
            connection = self._connection = self.engine.connect()
        return connection

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        connection = self._open()
        with connection.begin():
            return work(connection)

    def _driver_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        driver = cast(sqlite3.Connection, self._open().connection.driver_connection)
        try:
            driver.execute("BEGIN IMMEDIATE")
            try:
                result = work(driver)
                driver.execute("COMMIT")
            except BaseException:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            # The same error the rest of the stack raises: retried when busy, else a 503.
            raise OperationalError(None, None, error) from None
        return result

    def _after_commit(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY_COMMITS or self._checkpoint is not None:
            return
        self._checkpoint = asyncio.get_running_loop().run_in_executor(None, self._checkpoint_now)
        self._checkpoint.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, done: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not done.cancelled():
            done.exception()  # a failed checkpoint is retried after the next batch of commits

    def _checkpoint_now(self) -> None:
        # RESTART, not PASSIVE: a passive checkpoint racing a steady stream of commits never
        # catches up, so the WAL would grow without end. RESTART holds new writers off for
        # the few milliseconds it takes (ours retry with asyncio.sleep, off the loop), then
        # lets the next commit start the WAL from its beginning again.
        connection = sqlite3.connect(self._path, timeout=self._busy_timeout)
        try:
            connection.execute("PRAGMA wal_checkpoint(RESTART)")
        finally:
            connection.close()

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.wait([self._checkpoint])
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._connection is not None:
            self._connection.close()
        self.engine.dispose()


def _is_busy(error: OperationalError) -> bool:
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
