"""The gate agent's local state: one private SQLite file, and the admission door on it.

It implements the storage seam's `record_scan` like the server backends do, so the same
`CheckIn` use case decides offline here: a pass admits at most once *per gate*, and every
decision is kept (token included, to upload it) in the same transaction as the admission,
committed before the agent prints it: a kill -9 right after an allow loses nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gymgate.binding import DEFAULT_PROOF_WINDOW_SECONDS, moved_away
from gymgate.decisions import Decision
from gymgate.storage import Scan
from gymgate.vocabulary import DenyReason, Result

__all__ = ["LocalStore", "PendingDecision", "SyncedRules"]

STATE_FILE = "gate.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked (pass_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rebound (pass_id TEXT PRIMARY KEY, jkt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used (
    pass_id TEXT PRIMARY KEY, at REAL NOT NULL, gate TEXT, expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, token TEXT NOT NULL,
    at REAL NOT NULL, result TEXT NOT NULL, reason TEXT
);
"""
# A scanner may send anything on a line; the server takes tokens of up to 4096 characters.
MAX_KEPT_TOKEN = 4096


@dataclass(frozen=True, slots=True)
class SyncedRules:
    """What the last sync said: the token rules, the keys, and when (local clock)."""

    gate: str
    issuer: str
    leeway_seconds: int
    pass_ttl_seconds: int
    jwks: dict[str, Any]
    synced_at: float  # this machine's clock
    clock_offset: float  # server clock minus ours
    cursor: str
    # Rules kept by an agent from before bound passes lack it: the default then.
    proof_window_seconds: int = DEFAULT_PROOF_WINDOW_SECONDS


@dataclass(frozen=True, slots=True)
class PendingDecision:
    id: str
    token: str
    at: float
    result: Result
    reason: DenyReason | None


class LocalStore:
    """The agent's state directory (0700) and its database file (0600)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        path = directory / STATE_FILE
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        path.chmod(0o600)  # SQLite gives its journal files the database file's mode
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a turnstile box loses power, too
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    async def record_scan(self, scan: Scan) -> Decision:
        """Admit at most once at this gate, and keep the decision to upload: one transaction."""
        return self._record(scan)

    def _record(self, scan: Scan) -> Decision:
        decision = scan.verdict
        at = scan.at.timestamp()
        with _Transaction(self._db):
            if decision.allowed and decision.claims is not None:
                decision = self._admit(decision, scan.gate, at)
            self._db.execute(
                "INSERT INTO pending (id, token, at, result, reason) VALUES (?, ?, ?, ?, ?)",
                (
                    secrets.token_urlsafe(18),
                    (scan.token or "")[:MAX_KEPT_TOKEN],
                    at,
                    decision.result,
                    decision.reason,
                ),
            )
        return decision

    def _admit(self, decision: Decision, gate: str, at: float) -> Decision:
        claims = decision.claims
        assert claims is not None
        revoked = self._db.execute("SELECT 1 FROM revoked WHERE pass_id = ?", (claims.pass_id,))
        if revoked.fetchone() is not None:
            return Decision("deny", "revoked", claims)
        if claims.jkt is not None:  # a bound pass: did it move to another phone?
            moved = self._db.execute("SELECT jkt FROM rebound WHERE pass_id = ?", (claims.pass_id,))
            current = moved.fetchone()
            if moved_away(current[0] if current else None, claims.jkt):
                return Decision("deny", "revoked", claims)
        inserted = self._db.execute(
            "INSERT INTO used (pass_id, at, gate, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pass_id) DO NOTHING",
            (claims.pass_id, at, gate, claims.expires_at),
        )
        if inserted.rowcount == 1:
            return decision
        used_at, used_gate = self._db.execute(
            "SELECT at, gate FROM used WHERE pass_id = ?", (claims.pass_id,)
        ).fetchone()
        return Decision(
            "deny", "already_used", claims, datetime.fromtimestamp(used_at, UTC), used_gate
        )

    def record_online_use(self, pass_id: str, at: float, gate: str, expires_at: int) -> None:
        """The server admitted this pass here: a later offline decision must know it."""
        with _Transaction(self._db):
            self._db.execute(
                "INSERT INTO used (pass_id, at, gate, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (pass_id) DO NOTHING",
                (pass_id, at, gate, expires_at),
            )

    def rules(self) -> SyncedRules | None:
        """The rules of the last sync, or None if this gate never synced."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'rules'").fetchone()
        return None if row is None else SyncedRules(**json.loads(row[0]))

    def apply_state(
        self,
        rules: SyncedRules,
        revoked: Iterable[tuple[str, int]],
        used: Iterable[tuple[str, float, str | None, int]],
        rebound: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Take a sync's state: rules and keys replaced, revoked and moved passes replaced,
        uses added."""
        expired_before = int(rules.synced_at + rules.clock_offset) - rules.leeway_seconds
        with _Transaction(self._db):
            self._db.execute(
                "INSERT INTO meta (name, value) VALUES ('rules', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (json.dumps(dataclasses.asdict(rules)),),
            )
            self._db.execute("DELETE FROM revoked")
            self._db.executemany("INSERT OR IGNORE INTO revoked VALUES (?, ?)", revoked)
            self._db.execute("DELETE FROM rebound")
            self._db.executemany("INSERT OR REPLACE INTO rebound VALUES (?, ?)", rebound)
            self._db.executemany("INSERT OR IGNORE INTO used VALUES (?, ?, ?, ?)", used)
            self._db.execute("DELETE FROM used WHERE expires_at < ?", (expired_before,))

    def pending(self, limit: int) -> list[PendingDecision]:
        """The oldest decisions not yet acknowledged by the server."""
        rows = self._db.execute(
            "SELECT id, token, at, result, reason FROM pending ORDER BY seq LIMIT ?", (limit,)
        )
        return [PendingDecision(*row) for row in rows]

    def pending_count(self) -> int:
        count: int = self._db.execute("SELECT count(*) FROM pending").fetchone()[0]
        return count

    def acknowledge(self, ids: Iterable[str]) -> None:
        """The server recorded these: forget them."""
        with _Transaction(self._db):
            self._db.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in ids])


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
