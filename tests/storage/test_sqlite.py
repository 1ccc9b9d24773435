"""The embedded SQLite backend: its file is the owner's alone, and reads never hold writers."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from testkit.databases import SqliteTemplate, sqlite_url

from gymgate.models import AuditEvent
from gymgate.settings import Settings
from gymgate.storage import open_storage, upgrade_database


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_database_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    # Names and emails live in it: not 0644 whatever the umask.
    path = tmp_path / "data" / "gymgate.db"

    upgrade_database(sqlite_url(path))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_long_read_does_not_hold_off_a_write(
    tmp_path: Path, sqlite_template: SqliteTemplate
) -> None:
    # Reports read in deferred transactions: a read left open (a slow summary, a backup)
    # must not take the write lock the gate's check-ins need.
    settings = Settings(
        database_url=sqlite_template.fresh_copy(tmp_path), sqlite_busy_timeout_ms=200
    )
    storage = open_storage(settings)
    try:
        async with storage.reading() as reader:
            await reader.scalar(select(func.count()).select_from(AuditEvent))  # read begun
            async with storage.writing() as writer:
                writer.add(
                    AuditEvent(at=datetime.now(UTC), gate="g", result="deny", token_sha256="0" * 64)
                )
        async with storage.reading() as session:
            assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    finally:
        await storage.close()
