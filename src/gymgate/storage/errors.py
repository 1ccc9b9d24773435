"""Storage errors become domain errors here, where they arise, and nowhere else.

Like httpx's `map_httpcore_exceptions`: every door of the storage package runs inside
`translated()`, so use cases, the API and the CLI only ever see gymgate's own errors:

    database unreachable, locked too long, timed out,
    out of connections, deadlocked (worth a retry)     →  StorageUnavailable (503)
    text the database cannot store (NUL on Postgres)  →  InvalidInput (400)
    a unique key already taken                        →  AlreadyExists
Anything else is a bug, and propagates unchanged to be logged as one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gymgate.errors import AlreadyExists, GymgateError, InvalidInput, StorageUnavailable

__all__ = ["NOT_ANSWERING", "describe", "translate", "translated"]

NOT_ANSWERING = "the database is not answering; nothing was recorded"
# Postgres refuses NUL in text: the client's bad input, not an outage.
_UNSTORABLE_TEXT = "22021"
# SQLSTATEs that say "not now" rather than "never": a retry may well succeed. Classes 08
# (connection), 53 (out of connections, memory, disk), 57 (cancelled, shutting down), and
# serialization failure, deadlock, lock timeout. Whatever the driver's exception class.
_TRANSIENT_CLASSES = ("08", "53", "57")
_TRANSIENT_STATES = ("40001", "40P01", "55P03")
_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    OSError,
    TimeoutError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection the server dropped, used before we noticed
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.CannotConnectNowError,
)


def translate(error: BaseException) -> GymgateError | None:
    """The domain error for a storage failure, or None if it is not one."""
    if isinstance(error, GymgateError):
        return None
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None) or getattr(
        error, "sqlstate", None
    )
    if sqlstate == _UNSTORABLE_TEXT:
        return InvalidInput("text must not contain NUL (\\u0000) characters")
    if isinstance(error, IntegrityError | sqlite3.IntegrityError | asyncpg.UniqueViolationError):
        return AlreadyExists(describe(error))
    transient = isinstance(sqlstate, str) and (
        sqlstate[:2] in _TRANSIENT_CLASSES or sqlstate in _TRANSIENT_STATES
    )
    if (
        transient
        or isinstance(error, _UNAVAILABLE)
        or (isinstance(error, DBAPIError) and error.connection_invalidated)
    ):
        return StorageUnavailable(NOT_ANSWERING)
    return None


@contextmanager
def translated() -> Iterator[None]:
    """Run a block, re-raising storage failures as domain errors (see the module doc)."""
    try:
        yield
    except Exception as error:
        domain = translate(error)
        if domain is None:
            raise
        raise domain from error


def describe(error: BaseException) -> str:
    """One line saying why the database refused, without SQLAlchemy's boilerplate."""
    return str(getattr(error, "orig", None) or error).splitlines()[0]
