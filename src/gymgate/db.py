"""Engine and session set-up for SQLite (default, embedded) and Postgres, plus migrations.

SQLite is tuned for many processes sharing one file: WAL (readers never block the writer),
a busy timeout (writers queue instead of failing), and BEGIN IMMEDIATE on every transaction
so a transaction takes the write lock up front and never dies upgrading a read lock.
`synchronous=NORMAL` in WAL survives a killed process; only a power cut can lose the last
commits, which `GYMGATE_SQLITE_SYNCHRONOUS=FULL` prevents at some cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gymgate.errors import ConfigError, StorageUnavailable
from gymgate.models import Base
from gymgate.settings import Settings
from gymgate.sqlite_writer import SqliteWriter

__all__ = [
    "Database",
    "alembic_config",
    "as_storage_unavailable",
    "describe_database_error",
    "insert_unless_exists",
    "is_sqlite",
    "schema_is_current",
    "upgrade_database",
    "upsert_insert",
]

T = TypeVar("T")
# Longest wait to connect to Postgres, and for any one statement to answer.
POSTGRES_TIMEOUT_SECONDS = 5
# asyncpg's own errors for a connection that broke or a server going away (used where we
# call the driver directly; SQLAlchemy wraps them everywhere else).
_DRIVER_DISCONNECTS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def upsert_insert(
    session: AsyncSession, model: type[Base], **values: Any
) -> postgresql.Insert | sqlite.Insert:
    """The backend's own INSERT (the one with ON CONFLICT clauses) for the session."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(**values)


def insert_unless_exists(
    session: AsyncSession, model: type[Base], key: list[str], **values: Any
) -> postgresql.Insert | sqlite.Insert:
    """INSERT … ON CONFLICT (key) DO NOTHING, for whichever backend the session uses.

    Add `.returning(...)` to learn whether the row went in: no row back means it existed.
    """
    return upsert_insert(session, model, **values).on_conflict_do_nothing(index_elements=key)


def as_storage_unavailable(error: BaseException) -> StorageUnavailable | None:
    """The domain error for a database that cannot be reached or stays locked, if it is one."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout | OSError | TimeoutError):
        return _not_answering()
    return None


def _not_answering() -> StorageUnavailable:
    return StorageUnavailable("the database is not answering; nothing was recorded")


def describe_database_error(error: BaseException) -> str:
    """One line saying why the database refused, without SQLAlchemy's boilerplate."""
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(settings: Settings) -> AsyncEngine:
    """An async engine with the per-backend settings described above."""
    url = settings.database_url
    if not is_sqlite(url):
        return create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_recycle=1800,
            # A network partition must become a 503 within seconds, not a gate that hangs
            # (asyncpg waits 60 s to connect and forever for an answer by default).
            connect_args={
                "timeout": POSTGRES_TIMEOUT_SECONDS,
                "command_timeout": POSTGRES_TIMEOUT_SECONDS,
            },
        )
    _prepare_sqlite_file(url)
    # SQLite admits one writer and every transaction here is BEGIN IMMEDIATE, so a second
    # connection buys a process nothing: with one, concurrent requests queue on the pool and
    # are woken the moment it is free, instead of in SQLite's busy handler, which sleeps and
    # polls (up to 100 ms a try) and turned 16 concurrent scans into seconds of p99 latency.
    # Other processes sharing the file still meet the busy timeout, as before.
    engine = create_async_engine(
        url,
        connect_args={"timeout": 30},
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.sqlite_busy_timeout_ms / 1000,
    )
    pragmas = (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={settings.sqlite_synchronous}",
        f"PRAGMA busy_timeout={settings.sqlite_busy_timeout_ms}",
        "PRAGMA foreign_keys=ON",
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The engine and a session factory; one per process, closed in the app lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.writer = SqliteWriter(settings) if is_sqlite(settings.database_url) else None

    def session(self) -> AsyncSession:
        return self.sessions()

    async def write(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one write transaction, committed before this returns.

        For short hot-path transactions: on SQLite it runs in one step on the writer
        connection (see gymgate.sqlite_writer), on Postgres over the async pool.
        """
        if self.writer is not None:
            return await self.writer.run(work)
        async with self.engine.begin() as connection:
            return await connection.run_sync(work)

    async def on_driver(self, call: Callable[[Any], Awaitable[T]]) -> T:
        """`call(driver_connection)` on a pooled connection, outside any transaction.

        For a hot path that is one self-contained statement (its own transaction): one
        round trip, with the driver's own prepared-statement cache. Postgres (asyncpg) only.
        """
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            try:
                return await call(raw.driver_connection)
            except _DRIVER_DISCONNECTS:
                # Raw driver errors bypass SQLAlchemy: drop the connection ourselves, and
                # answer the way a lost connection is answered everywhere else.
                await connection.invalidate()
                raise _not_answering() from None

    async def ping(self) -> None:
        """One cheap round trip (on SQLite it also takes the write lock, as a scan would);
        StorageUnavailable when the database does not answer."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            if as_storage_unavailable(error) is None:
                raise
            raise StorageUnavailable(
                f"not ready: the database does not answer ({type(error).__name__})"
            ) from None

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.close()
        await self.engine.dispose()


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", "gymgate:migrations")
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply migrations (synchronously; call it outside a running event loop)."""
    if is_sqlite(database_url):
        _prepare_sqlite_file(database_url)
    command.upgrade(alembic_config(database_url), revision)


def schema_is_current(database_url: str) -> bool:
    """Whether the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def read() -> str | None:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(current)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(read()) == head
    except (OSError, SQLAlchemyError) as exc:
        raise ConfigError(
            f"GYMGATE_DATABASE_URL cannot be used: {describe_database_error(exc)}"
        ) from None
