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
thread every CHECKPOINT_EVERY_COMMITS commits instead of inside a commit: PASSIVE ones, which
never hold a writer off, and a RESTART only when the WAL has grown past RESTART_WAL_PAGES. With
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

from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from gymgate.settings import Settings
from gymgate.storage.sqlite_setup import configure_sqlite, sqlite_path

__all__ = ["SqliteWriter"]

T = TypeVar("T")
# A check-in adds 7 to 9 pages to the WAL (measured: 3,700 pages per 500 check-ins on a
# fresh file, 4,300 with a million audit rows), so at a thousand check-ins a second a
# checkpoint (and its fsync) runs twice a second.
CHECKPOINT_EVERY_COMMITS = 500
# A WAL longer than this (about 40 MB of 4 KB pages) gets a RESTART checkpoint, see below.
RESTART_WAL_PAGES = 10_000
# How long a RESTART may wait for readers of older snapshots, holding new writers off.
RESTART_WAIT_SECONDS = 0.02
_INLINE_LEVELS = ("OFF", "NORMAL")
# A writer that finds the lock taken retries after 0.5 ms, doubling up to this. The usual
# holder is our own RESTART checkpoint, 2 to 12 ms (longer on a big database): with a
# 10 ms cap the retries overshot its end by up to 7 ms, a stall added to every scan
# waiting behind it. A failed BEGIN IMMEDIATE costs microseconds, so retrying each
# millisecond is cheap.
RETRY_MAX_DELAY_SECONDS = 0.001


class SqliteWriter:
    """Runs `work(connection)` in one BEGIN IMMEDIATE … COMMIT on a dedicated connection."""

    def __init__(self, settings: Settings) -> None:
        self._path = sqlite_path(settings.database_url)
        self._busy_timeout = settings.sqlite_busy_timeout_ms / 1000
        inline = settings.sqlite_synchronous in _INLINE_LEVELS
        self._executor = (
            None if inline else ThreadPoolExecutor(1, thread_name_prefix="gymgate-sqlite")
        )
        busy_ms = 0 if inline else settings.sqlite_busy_timeout_ms
        self.engine = create_engine(
            f"sqlite:///{self._path}",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
        )
        # checkpoints run on a thread, see _after_commit
        configure_sqlite(self.engine, settings, busy_ms, extra=("PRAGMA wal_autocheckpoint=0",))
        self._connection: Connection | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    async def run(self, work: Callable[[Connection], T]) -> T:
        """work's result, committed; the busy error if the lock stays taken too long."""
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
            except (OperationalError, sqlite3.OperationalError) as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(delay)  # someone else writes: let them finish
                delay = min(delay * 2, RETRY_MAX_DELAY_SECONDS)
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
        driver.execute("BEGIN IMMEDIATE")
        try:
            result = work(driver)
            driver.execute("COMMIT")
        except BaseException:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
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
        # PASSIVE first: it copies what it can without holding writers off, and once it has
        # copied every frame the next commit starts the WAL from its beginning again. Racing
        # a steady stream of commits (or a long read) it may never catch up, so when the WAL
        # has grown long a RESTART follows: it holds new writers off for the few
        # milliseconds it takes (ours retry with asyncio.sleep, off the loop), then lets the
        # next commit restart the WAL. Below saturation a PASSIVE catches up and that is rare;
        # with commits back to back (a bench at full speed) every third PASSIVE or so ends in
        # a RESTART, about once a second (it used to be 7 times a second).
        # A RESTART waits for every reader of an older snapshot while holding writers off,
        # so it waits briefly: behind a long report it gives up (as PASSIVE would) and the
        # next round tries again, rather than stalling the gate for the whole report.
        connection = sqlite3.connect(self._path, timeout=self._busy_timeout)
        try:
            _busy, wal_pages, _copied = connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
            if wal_pages > RESTART_WAL_PAGES:
                connection.execute(f"PRAGMA busy_timeout={int(RESTART_WAIT_SECONDS * 1000)}")
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


def _is_busy(error: Exception) -> bool:
    code = getattr(getattr(error, "orig", error), "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
