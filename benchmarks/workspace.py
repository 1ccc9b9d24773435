"""What every benchmark needs: keys, tokens, gate secrets and fresh databases in a temp dir."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import asyncpg
from testkit.databases import PostgresDatabase, sqlite_url

from gymgate.binding import DeviceKey
from gymgate.clock import SystemClock
from gymgate.ids import new_id
from gymgate.keystore import KeySet, KeyStore
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from gymgate.storage import upgrade_database
from gymgate.tokens import issue_token

__all__ = [
    "GATE",
    "Workspace",
    "audit_counts",
    "bench_postgres",
    "last_audit_id",
    "used_pass_ids",
]

GATE = "bench"
POSTGRES_ADMIN_DSN = os.environ.get(
    "BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class Workspace:
    """A scratch directory with one signing key and a migrated SQLite template."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys_dir = root / "keys"
        KeyStore(self.keys_dir).rotate(SystemClock())
        self.keyset: KeySet = KeyStore(self.keys_dir).load()
        self.admin_token = secrets.token_urlsafe(24)
        self.template = root / "template.db"
        upgrade_database(sqlite_url(self.template))
        self._tokens: list[tuple[str, str]] = []

    def settings(self, database_url: str) -> Settings:
        return Settings(
            database_url=database_url, keys_dir=self.keys_dir, admin_token=self.admin_token
        )

    def server_env(self, database_url: str) -> dict[str, str]:
        """The environment of a server: ours, with no stray GYMGATE_* from the caller."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GYMGATE_")}
        env.update(
            GYMGATE_DATABASE_URL=database_url,
            GYMGATE_KEYS_DIR=str(self.keys_dir),
            GYMGATE_ADMIN_TOKEN=self.admin_token,
            # The load comes from one address, on purpose: no budgets.
            GYMGATE_RATE_LIMIT_PER_MINUTE="0",
            GYMGATE_WRITE_LIMIT_PER_MINUTE="0",
            GYMGATE_DEV_MODE="1",  # passes are paid for with the mock provider
        )
        return env

    def fresh_sqlite(self, name: str) -> str:
        """A migrated, empty SQLite database of its own."""
        path = self.root / f"{name}.db"
        shutil.copyfile(self.template, path)
        return sqlite_url(path)

    def tokens(self, count: int) -> list[tuple[str, str]]:
        """`count` distinct valid passes as (pass_id, token); the same ones on every database."""
        now = int(time.time())
        while len(self._tokens) < count:
            pass_id = new_id()
            self._tokens.append((pass_id, self.issue(pass_id, now)))
        return self._tokens[:count]

    def issue(self, pass_id: str, now: int, device: DeviceKey | None = None) -> str:
        """A day's pass issued `now`, signed by the workspace's key (bound to `device`)."""
        return issue_token(
            self.keyset,
            issuer="gymgate",
            pass_id=pass_id,
            user_id=new_id(),
            issued_at=now,
            expires_at=now + 24 * 3600,
            device=device,
        )

    def new_tokens(self, count: int) -> list[tuple[str, str]]:
        """`count` passes never handed out by `tokens` or `new_tokens` before."""
        start = len(self._tokens)
        return self.tokens(start + count)[start:]

    def add_gate(self, database_url: str, name: str = GATE) -> str:
        """A secret for a new gate called `name` on that database."""

        async def create() -> str:
            async with Runtime.open(self.settings(database_url)) as runtime:
                return await runtime.gates.add(name)

        return asyncio.run(create())


def bench_postgres() -> PostgresDatabase | None:
    """A throwaway `gymgate_bench_*` database (not yet created), or None if Postgres is down."""
    if not PostgresDatabase.available(POSTGRES_ADMIN_DSN):
        return None
    return PostgresDatabase(prefix="gymgate_bench", admin_dsn=POSTGRES_ADMIN_DSN)


def last_audit_id(database_url: str) -> int:
    """The newest audit row's id (0 for none): a mark to count a run's rows from."""
    return int(_rows(database_url, "SELECT coalesce(max(id), 0) FROM audit_events")[0][0])


def audit_counts(database_url: str, after_id: int = 0) -> dict[str, int]:
    """Audit rows past `after_id` by result: every authenticated verify writes exactly one.
    (By id, so counting one turn's rows does not scan a million rows of history.)"""
    query = "SELECT result, count(*) FROM audit_events WHERE id > $1 GROUP BY result"
    return {str(result): count for result, count in _rows(database_url, query, after_id)}


def used_pass_ids(database_url: str) -> set[str]:
    return {row[0] for row in _rows(database_url, "SELECT pass_id FROM used_passes")}


def _rows(database_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    """The rows of `query` (parameters written $1, $2, … as asyncpg takes them)."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        connection = sqlite3.connect(path)
        try:
            sqlite_query = re.sub(r"\$\d+", "?", query)
            return [tuple(row) for row in connection.execute(sqlite_query, params)]
        finally:
            connection.close()

    async def fetch() -> list[tuple[Any, ...]]:
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        connection = await asyncpg.connect(dsn)
        try:
            return [tuple(row) for row in await connection.fetch(query, *params)]
        finally:
            await connection.close()

    return asyncio.run(fetch())
