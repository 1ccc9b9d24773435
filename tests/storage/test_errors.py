"""Storage failures become domain errors in one place; anything else is left alone."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from gymgate.errors import AlreadyExists, InvalidInput, NotFound, StorageUnavailable
from gymgate.storage.errors import translate, translated


class _PostgresError(Exception):
    sqlstate = "22021"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sqlite3.OperationalError("database is locked"), StorageUnavailable),
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("locked")), StorageUnavailable),
        (ConnectionRefusedError(111, "refused"), StorageUnavailable),
        (TimeoutError(), StorageUnavailable),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")), AlreadyExists),
        (OperationalError("INSERT", {}, _PostgresError("invalid byte 0x00")), InvalidInput),
    ],
)
def test_storage_failures_become_domain_errors(error: Exception, expected: type[Exception]) -> None:
    assert isinstance(translate(error), expected)


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("x"), NotFound("no payment")])
def test_other_errors_are_not_storage_failures(error: Exception) -> None:
    assert translate(error) is None


def test_translated_raises_the_domain_error_and_lets_bugs_through() -> None:
    with pytest.raises(StorageUnavailable, match="not answering"), translated():
        raise sqlite3.OperationalError("disk I/O error")
    with pytest.raises(ValueError, match="a bug"), translated():
        raise ValueError("a bug")
