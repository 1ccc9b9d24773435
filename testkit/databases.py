"""Test databases: a migrated SQLite file per test, and one migrated Postgres per session.

Postgres runs on 127.0.0.1:5432 (user postgres, trust auth) on our machines; the suite
creates its own database and drops it at the end. Without a reachable Postgres the Postgres
half of the suite is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import asyncpg
import pytest

from gymgate.models import Base
from gymgate.storage import upgrade_database

__all__ = [
    "POSTGRES_ADMIN_DSN",
    "PostgresDatabase",
    "SqliteTemplate",
    "sqlite_url",
]

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class SqliteTemplate:
    """Migrate once, copy per test: each test gets a fresh, real, migrated SQLite file."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        upgrade_database(sqlite_url(self.path))

    def fresh_copy(self, directory: Path) -> str:
        target = directory / "gymgate.db"
        shutil.copyfile(self.path, target)
        return sqlite_url(target)


class PostgresDatabase:
    """A throwaway database on a local server, emptied between uses and dropped at the end.

    The suite takes the defaults; the benchmarks name theirs `gymgate_bench_*` and reach the
    server through their own admin DSN.
    """

    def __init__(self, prefix: str = "gymgate_test", admin_dsn: str = POSTGRES_ADMIN_DSN) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.dsn = f"{admin_dsn.rsplit('/', 1)[0]}/{self.name}"
        self.url = self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    @staticmethod
    def available(admin_dsn: str = POSTGRES_ADMIN_DSN) -> bool:
        async def probe() -> None:
            connection = await asyncpg.connect(admin_dsn, timeout=3)
            await connection.close()

        try:
            asyncio.run(probe())
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        return True

    def create(self, *, migrate: bool = True) -> None:
        """Create the database; migrated to the latest schema unless `migrate=False`."""
        asyncio.run(_execute(self.admin_dsn, [f'CREATE DATABASE "{self.name}"']))
        if migrate:
            upgrade_database(self.url)

    def drop(self) -> None:
        statement = f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'
        asyncio.run(_execute(self.admin_dsn, [statement]))

    def empty(self) -> None:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        self.execute(
            [
                f"TRUNCATE {tables} RESTART IDENTITY CASCADE",
                # the one row the migrations seed: the audit rollup has counted nothing
                "INSERT INTO audit_rollup (id, rolled_through, version) VALUES (1, 0, 0)",
            ]
        )

    def execute(self, statements: Iterable[str]) -> None:
        """Run `statements` in order on this database, on one connection."""
        asyncio.run(_execute(self.dsn, statements))


async def _execute(dsn: str, statements: Iterable[str]) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def require_postgres() -> None:
    """Skip (or, under CI, fail) when no Postgres answers."""
    if PostgresDatabase.available():
        return
    message = f"Postgres not reachable at {POSTGRES_ADMIN_DSN}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (CI=true: a missing Postgres is a failure)")
    pytest.skip(message)
