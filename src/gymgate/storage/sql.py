"""What the SQLAlchemy backends share: ORM sessions, the dialect's INSERT, ping, close.

A backend hands this base its engines (one for writes, one for reads: the same engine on
Postgres, two on SQLite so that reads never take the write lock) and adds its own check-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gymgate.errors import AlreadyExists, StorageUnavailable
from gymgate.models import Base
from gymgate.storage.errors import translate, translated
from gymgate.storage.interface import Insert
from gymgate.storage.offline import OfflineRecord, OfflineScan, record_offline_scans

__all__ = ["SqlStorage"]

T = TypeVar("T")


class SqlStorage:
    """The ORM doors over a write engine and a read engine."""

    def __init__(self, writes: AsyncEngine, reads: AsyncEngine) -> None:
        self._writes = writes
        self._reads = reads
        self._write_sessions = async_sessionmaker(writes, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(reads, expire_on_commit=False)
        self._insert = postgresql.insert if writes.dialect.name == "postgresql" else sqlite.insert

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction; committed when the block ends without error."""
        with translated():
            async with self._write_sessions() as session:
                yield session
                await session.commit()

    @asynccontextmanager
    async def reading(self, *, snapshot: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reads; whatever it would write is rolled back. With `snapshot`,
        every statement sees the database as of the first (SQLite's read transactions
        always do; on Postgres it is a REPEATABLE READ transaction, which a read-only
        session never has to retry)."""
        with translated():
            async with self._read_sessions() as session:
                if snapshot and self._reads.dialect.name == "postgresql":
                    await session.connection(
                        execution_options={"isolation_level": "REPEATABLE READ"}
                    )
                yield session

    async def write(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one write transaction, committed before this returns."""
        with translated():
            async with self._writes.begin() as connection:
                return await connection.run_sync(work)

    async def record_offline(self, scans: Sequence[OfflineScan]) -> list[OfflineRecord]:
        """A gate's offline decisions in one write transaction; each id recorded once.

        Two uploads of the same id racing: the loser's transaction fails on the unique
        decision id, and each of its scans is retried alone (finding the winner's row).
        """
        try:
            return await self.write(partial(record_offline_scans, insert=self._insert, scans=scans))
        except AlreadyExists:
            records: list[OfflineRecord] = []
            for scan in scans:
                records += await self.write(
                    partial(record_offline_scans, insert=self._insert, scans=[scan])
                )
            return records

    def insert(self, model: type[Base], **values: Any) -> Insert:
        """INSERT for this backend, with its ON CONFLICT clauses; values optional."""
        statement = self._insert(model)
        return statement.values(**values) if values else statement

    async def ping(self) -> None:
        """One cheap round trip on the write engine (on SQLite it takes the write lock, as a
        scan would); StorageUnavailable when the database does not answer."""
        try:
            async with self._writes.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            if translate(error) is None:
                raise
            raise StorageUnavailable(
                f"not ready: the database does not answer ({type(error).__name__})"
            ) from None

    async def close(self) -> None:
        await self._writes.dispose()
        if self._reads is not self._writes:
            await self._reads.dispose()
