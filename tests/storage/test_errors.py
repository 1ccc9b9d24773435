"""Storage failures become domain errors in one place; anything else is left alone."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from gymgate.errors import AlreadyExists, InvalidInput, NotFound, StorageUnavailable
from gymgate.storage.errors import translate, translated


class _PostgresError(Exception):
    def __init__(self, message: str, sqlstate: str = "22021") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _driver_error(sqlstate: str) -> DBAPIError:
    """What SQLAlchemy raises for a Postgres error it has no special class for."""
    return DBAPIError("SELECT 1", {}, _PostgresError("server said no", sqlstate))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sqlite3.OperationalError("database is locked"), StorageUnavailable),
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("locked")), StorageUnavailable),
        (ConnectionRefusedError(111, "refused"), StorageUnavailable),
        (TimeoutError(), StorageUnavailable),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")), AlreadyExists),
        (OperationalError("INSERT", {}, _PostgresError("invalid byte 0x00")), InvalidInput),
        (_driver_error("53300"), StorageUnavailable),  # too many connections
        (_driver_error("40P01"), StorageUnavailable),  # deadlock detected
        (_driver_error("40001"), StorageUnavailable),  # serialization failure
        (_driver_error("55P03"), StorageUnavailable),  # lock timeout
        (_driver_error("08006"), StorageUnavailable),  # connection failure
    ],
)
def test_storage_failures_become_domain_errors(error: Exception, expected: type[Exception]) -> None:
    assert isinstance(translate(error), expected)


@pytest.mark.parametrize(
    "error",
    [ValueError("a bug"), KeyError("x"), NotFound("no payment"), _driver_error("42P01")],
)
def test_other_errors_are_not_storage_failures(error: Exception) -> None:
    assert translate(error) is None


def test_translated_raises_the_domain_error_and_lets_bugs_through() -> None:
    with pytest.raises(StorageUnavailable, match="not answering"), translated():
        raise sqlite3.OperationalError("disk I/O error")
    with pytest.raises(ValueError, match="a bug"), translated():
        raise ValueError("a bug")
