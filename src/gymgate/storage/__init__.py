"""Storage: the database behind one interface (see gymgate.storage.interface).

`open_storage(settings)` is the only place a backend is chosen; a new backend is a module
here implementing `Storage`, and one line in `open_storage`.
"""

from __future__ import annotations

from pathlib import Path

from gymgate.errors import ConfigError
from gymgate.settings import Settings
from gymgate.storage.errors import describe, translated
from gymgate.storage.interface import Backend, Scan, ScanRecorder, Storage
from gymgate.storage.migrations import alembic_config, schema_is_current, upgrade_database
from gymgate.storage.select import backend_of
from gymgate.storage.sqlite_setup import sqlite_path

__all__ = [
    "Backend",
    "Scan",
    "ScanRecorder",
    "Storage",
    "alembic_config",
    "backend_of",
    "describe",
    "describe_database",
    "open_storage",
    "require_database",
    "schema_is_current",
    "translated",
    "upgrade_database",
]


def open_storage(settings: Settings, *, create: bool = False) -> Storage:
    """The configured backend, ready to use (close it when done).

    Without `create`, an embedded database that does not exist yet is an error, not a new
    empty file: a command run from the wrong directory must say so, not act on nothing.
    """
    if not create:
        require_database(settings)
    if backend_of(settings.database_url) == "sqlite":
        from gymgate.storage.sqlite import SqliteStorage

        return SqliteStorage(settings)
    from gymgate.storage.postgres import PostgresStorage

    return PostgresStorage(settings)


def require_database(settings: Settings) -> None:
    """ConfigError unless the embedded database file exists (a server's is always there)."""
    url = settings.database_url
    path = sqlite_path(url) if backend_of(url) == "sqlite" else ":memory:"
    if path != ":memory:" and not Path(path).is_file():
        raise ConfigError(
            f"no gymgate database at {Path(path).resolve()}: run this from the directory "
            "where `gymgate serve` runs, set GYMGATE_DATABASE_URL, or create it with "
            "`gymgate db upgrade`"
        )


def describe_database(settings: Settings) -> str:
    """Which database a command uses, for humans (the password masked)."""
    url = settings.database_url
    if backend_of(url) == "sqlite":
        return f"SQLite {Path(sqlite_path(url)).resolve()}"
    return f"Postgres {settings.masked()['GYMGATE_DATABASE_URL']}"
