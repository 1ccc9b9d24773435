"""How every SQLite connection gymgate opens is set up: one list of pragmas, one file mode.

SQLite is tuned for many processes sharing one file: WAL (readers never block the writer),
a busy timeout (writers queue instead of failing), and BEGIN IMMEDIATE on every write
transaction so it takes the write lock up front and never dies upgrading a read lock.
`synchronous=NORMAL` in WAL survives a killed process; only a power cut can lose the last
commits, which `GYMGATE_SQLITE_SYNCHRONOUS=FULL` prevents at some cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url

from gymgate.settings import Settings

__all__ = ["configure_sqlite", "create_sqlite_file", "sqlite_path"]

# Names and emails live in this file: readable by its owner only.
DATABASE_FILE_MODE = 0o600


def sqlite_path(url: str) -> str:
    """The file a sqlite URL names (':memory:' for none)."""
    return make_url(url).database or ":memory:"


def create_sqlite_file(url: str) -> None:
    """Make the database file (and its folder) owner-only before SQLite creates it with the
    process umask; an existing file is tightened the same way."""
    path = sqlite_path(url)
    if path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, DATABASE_FILE_MODE))
    os.chmod(path, DATABASE_FILE_MODE)


def configure_sqlite(
    engine: Engine,
    settings: Settings,
    busy_ms: int,
    *,
    begin: str = "BEGIN IMMEDIATE",
    extra: Iterable[str] = (),
) -> None:
    """Give every connection of `engine` gymgate's pragmas, and `begin` for transactions."""
    pragmas = (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={settings.sqlite_synchronous}",
        f"PRAGMA busy_timeout={busy_ms}",
        "PRAGMA foreign_keys=ON",
        *extra,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)
