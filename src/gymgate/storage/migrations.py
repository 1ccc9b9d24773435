"""The schema: Alembic migrations applied to, and checked against, any backend."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from gymgate.errors import ConfigError, GymgateError
from gymgate.storage.errors import describe, translate
from gymgate.storage.select import backend_of
from gymgate.storage.sqlite_setup import create_sqlite_file

__all__ = ["alembic_config", "schema_is_current", "upgrade_database"]


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", "gymgate:migrations")
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply migrations (synchronously; call it outside a running event loop).

    ConfigError with the database's own one-line reason when it cannot be migrated.
    """
    if backend_of(database_url) == "sqlite":
        create_sqlite_file(database_url)
    try:
        command.upgrade(alembic_config(database_url), revision)
    except Exception as error:
        if isinstance(error, GymgateError) or translate(error) is None:
            raise
        raise ConfigError(f"could not migrate the database: {describe(error)}") from None


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
    except Exception as error:
        if translate(error) is None:
            raise
        raise ConfigError(f"GYMGATE_DATABASE_URL cannot be used: {describe(error)}") from None
