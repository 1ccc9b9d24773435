"""Floors F1-F3: what Ed25519, PyJWT and the database driver cost on their own, in-process."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt

from benchmarks.timing import per_second, per_second_async
from gymgate.settings import Settings
from gymgate.storage import backend_of
from gymgate.storage.sqlite_writer import SqliteWriter

__all__ = ["ed25519_verifies", "pyjwt_decodes", "write_transactions"]

_SQLITE_USED = (
    "INSERT INTO used_passes (pass_id, state, at, gate, expires_at) VALUES (?, 'used', ?, ?, ?) "
    "ON CONFLICT (pass_id) DO NOTHING RETURNING pass_id"
)
_SQLITE_AUDIT = (
    "INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256) "
    "VALUES (?, ?, 'allow', NULL, ?, ?, ?, ?)"
)
_POSTGRES_USED = _SQLITE_USED.replace("?, 'used', ?, ?, ?", "$1, 'used', $2, $3, $4")
_POSTGRES_AUDIT = _SQLITE_AUDIT.replace(
    "?, ?, 'allow', NULL, ?, ?, ?, ?", "$1, $2, 'allow', NULL, $3, $4, $5, $6"
)
_FINGERPRINT = "0" * 64


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ed25519_verifies(token: str, public_key: Any, seconds: float) -> float:
    """F1: raw signature checks of the token's signing input, nothing else."""
    signing_input, _, signature = token.rpartition(".")
    data, raw_signature = signing_input.encode(), _b64url_decode(signature)
    return per_second(lambda _: public_key.verify(raw_signature, data), seconds)


def pyjwt_decodes(token: str, public_key: Any, seconds: float) -> float:
    """F2: PyJWT's own EdDSA decode of one of our tokens (signature, exp, iat)."""
    return per_second(lambda _: jwt.decode(token, public_key, algorithms=["EdDSA"]), seconds)


async def write_transactions(settings: Settings, seconds: float, start: int = 0) -> float:
    """F3: BEGIN; INSERT used pass ON CONFLICT DO NOTHING RETURNING; INSERT audit; COMMIT.

    Straight on the driver connection the app's hot path uses, set up the app's way: on
    SQLite the check-in writer's sqlite3 connection (its pragmas, BEGIN IMMEDIATE), on
    Postgres a pooled asyncpg connection. No SQLAlchemy per statement: the floor any verify
    has to pay. Pass ids count up from `start` (another run on the database starts past this
    one's).
    """
    if backend_of(settings.database_url) == "sqlite":
        writer = SqliteWriter(settings)
        try:
            with writer.engine.connect() as sync_connection:
                driver = sync_connection.connection.driver_connection
                return per_second(lambda i: _sqlite_transaction(driver, start + i), seconds)
        finally:
            await writer.close()
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        return await per_second_async(
            lambda i: _postgres_transaction(connection, start + i), seconds
        )
    finally:
        await connection.close()


def _sqlite_transaction(driver: Any, i: int) -> None:
    at = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    pass_id = f"f3-{i:012d}"
    driver.execute("BEGIN IMMEDIATE")
    admitted = driver.execute(_SQLITE_USED, (pass_id, at, "bench", 2_000_000_000)).fetchone()
    assert admitted, "every F3 pass id is new"
    driver.execute(_SQLITE_AUDIT, (at, "bench", pass_id, "u", "k", _FINGERPRINT))
    driver.execute("COMMIT")


async def _postgres_transaction(driver: Any, i: int) -> None:
    at = datetime.now(UTC).replace(tzinfo=None)
    pass_id = f"f3-{i:012d}"
    async with driver.transaction():
        admitted = await driver.fetchrow(_POSTGRES_USED, pass_id, at, "bench", 2_000_000_000)
        assert admitted is not None, "every F3 pass id is new"
        await driver.execute(_POSTGRES_AUDIT, at, "bench", pass_id, "u", "k", _FINGERPRINT)
