"""The SQLite writer: waits for another writer without blocking the loop, gives up after the
busy timeout, checkpoints on a thread, and runs off the loop when every commit fsyncs."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from testkit.databases import SqliteTemplate

from gymgate.errors import StorageUnavailable
from gymgate.settings import Settings
from gymgate.storage import open_storage
from gymgate.storage import sqlite_writer as writer_module
from gymgate.storage.sqlite_writer import SqliteWriter


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_template: SqliteTemplate) -> Settings:
    return Settings(database_url=sqlite_template.fresh_copy(tmp_path))


@contextmanager
def write_lock_held(settings: Settings) -> Iterator[sqlite3.Connection]:
    """Another process's writer, as SQLite sees it: a connection inside BEGIN IMMEDIATE."""
    path = settings.database_url.split("///", 1)[1]
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield other
        finally:
            if other.in_transaction:
                other.execute("ROLLBACK")


def synchronous_level(connection: Connection) -> int:
    return int(connection.execute(text("PRAGMA synchronous")).scalar_one())


async def test_a_write_waits_for_another_writer_and_then_commits(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = SqliteWriter(sqlite_settings)
    attempts = 0
    transaction = writer._transaction

    def counting(work: object) -> object:
        nonlocal attempts
        attempts += 1
        return transaction(work)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "_transaction", counting)
    try:
        with write_lock_held(sqlite_settings) as other:
            task = asyncio.create_task(writer.run(synchronous_level))
            deadline = time.monotonic() + 5
            while attempts < 2:  # it tried, found the lock taken, and is retrying
                assert time.monotonic() < deadline, "the writer never retried"
                await asyncio.sleep(0.001)  # lets the writer's retry run; ends on its count
            assert not task.done()
            other.execute("COMMIT")
        assert await task == 1  # NORMAL
    finally:
        await writer.close()


async def test_a_write_gives_up_after_the_busy_timeout_as_storage_unavailable(
    sqlite_settings: Settings,
) -> None:
    storage = open_storage(sqlite_settings.replace(sqlite_busy_timeout_ms=100))
    try:
        with write_lock_held(sqlite_settings), pytest.raises(StorageUnavailable):
            await storage.write(synchronous_level)
    finally:
        await storage.close()


async def test_checkpoints_run_on_a_worker_thread(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY_COMMITS", 3)
    writer = SqliteWriter(sqlite_settings)
    threads: list[int] = []
    checkpoint = writer._checkpoint_now

    def recording() -> None:
        threads.append(threading.get_ident())
        checkpoint()

    monkeypatch.setattr(writer, "_checkpoint_now", recording)
    try:
        for _ in range(3):
            await writer.run(synchronous_level)
    finally:
        await writer.close()  # waits for a checkpoint in flight

    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


@pytest.mark.parametrize(("level", "value", "on_loop"), [("NORMAL", 1, True), ("FULL", 2, False)])
async def test_the_synchronous_level_is_set_and_fsyncing_levels_run_off_the_loop(
    sqlite_settings: Settings, level: str, value: int, on_loop: bool
) -> None:
    writer = SqliteWriter(sqlite_settings.replace(sqlite_synchronous=level))
    ran_on: list[int] = []

    def work(connection: Connection) -> int:
        ran_on.append(threading.get_ident())
        return synchronous_level(connection)

    try:
        assert await writer.run(work) == value
    finally:
        await writer.close()
    assert (ran_on[0] == threading.get_ident()) is on_loop
