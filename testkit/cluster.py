"""Several `gymgate serve` processes on one database, and scanners that hammer them.

Shared by the exactly-once, crash and key-rotation tests and by `scripts/exactly_once.py`.
A scanner is one gate (its own secret) with its own HTTP client; a scan that gets no
answer (the server died under it) is retried on the next server, as a turnstile would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import make_url, select

from gymgate.models import AuditEvent
from gymgate.payments import MockPaymentProvider
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from gymgate.storage import backend_of
from testkit.live_server import LiveServer

__all__ = [
    "AuditRow",
    "Cluster",
    "Scan",
    "Scanner",
    "add_gates",
    "integrity_check",
    "issue_passes",
    "outcomes",
    "read_audit",
    "scan_every_pass",
]

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class Scan:
    """One scan attempt: the status code and body, or None when no answer came back
    (`sent`: the request may have reached the server before it died)."""

    gate: str
    pass_index: int
    server: str
    status_code: int | None
    body: dict[str, Any] | None = None
    sent: bool = True

    @property
    def answered(self) -> bool:
        return self.status_code is not None

    @property
    def outcome(self) -> str:
        """allow, a deny reason, 'http <code>' or 'no answer'."""
        if self.status_code is None:
            return "no answer"
        if self.status_code != 200 or self.body is None:
            return f"http {self.status_code}"
        return str(self.body.get("reason") or self.body["status"])


@dataclass(frozen=True, slots=True)
class AuditRow:
    gate: str
    result: str
    reason: str | None
    pass_id: str | None


@dataclass
class Scanner:
    """A turnstile: one gate, one HTTP client, every scan recorded."""

    gate: str
    secret: str
    client: httpx.AsyncClient
    scans: list[Scan] = field(default_factory=list)

    async def scan(self, urls: Sequence[str], first: int, token: str, pass_index: int) -> Scan:
        """Scan on urls[first], falling back to the others when a server gives no answer."""
        scan = Scan(self.gate, pass_index, urls[first], None)
        for attempt in range(len(urls)):
            url = urls[(first + attempt) % len(urls)]
            try:
                response = await self.client.post(
                    url + "/verify",
                    json={"token": token, "gate": self.gate},
                    headers={"Authorization": f"Bearer {self.secret}"},
                )
            except httpx.TransportError as error:
                sent = not isinstance(error, httpx.ConnectError)
                self.scans.append(Scan(self.gate, pass_index, url, None, sent=sent))
                continue
            scan = Scan(self.gate, pass_index, url, response.status_code, _json(response))
            self.scans.append(scan)
            if response.status_code != 503:
                return scan
        return scan


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class Cluster:
    """`size` servers on one database and keys directory, started side by side."""

    def __init__(self, workdir: Path, env: Mapping[str, str], size: int = 3) -> None:
        self.servers = [LiveServer(workdir, env) for _ in range(size)]
        self._stack = ExitStack()

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def __enter__(self) -> Cluster:
        for server in self.servers:
            self._stack.callback(server.stop)
            server.spawn()
        for server in self.servers:
            server.wait_until_healthy()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def logs(self) -> str:
        return "\n".join(server.log() for server in self.servers)


def _settings(database_url: str, keys_dir: Path = Path("keys")) -> Settings:
    return Settings(database_url=database_url, keys_dir=keys_dir, dev_mode=True)


async def add_gates(database_url: str, count: int, keys_dir: Path = Path("keys")) -> dict[str, str]:
    """Gate name → secret for `count` new gates (made before the servers cache them)."""
    async with Runtime.open(_settings(database_url, keys_dir)) as runtime:
        return {f"gate-{n}": await runtime.gates.add(f"gate-{n}") for n in range(count)}


async def issue_passes(database_url: str, keys_dir: Path, count: int) -> list[str]:
    """Pay and sign `count` passes through the use cases (no HTTP, no QR drawing: the
    scenario is about the gate); the tokens, in order."""
    settings = _settings(database_url, keys_dir)
    tokens: list[str] = []
    async with Runtime.open(settings, provider=MockPaymentProvider()) as runtime:
        for number in range(count):
            payment = await runtime.payments.create(
                email=f"member{number}@example.com", name=None, simulate=None
            )
            tokens.append((await runtime.passes.issue(payment.payment_id)).token)
    return tokens


async def scan_every_pass(
    urls: Sequence[str],
    secrets: Mapping[str, str],
    tokens: Sequence[str],
    *,
    passes_in_flight: int = 4,
    progress: asyncio.Queue[int] | None = None,
) -> list[Scan]:
    """Every scanner scans every pass at the same moment, spread over the servers.

    Passes go `passes_in_flight` at a time; for each, all scanners fire together, each at a
    different server. Returns every attempt (retries included).
    """
    clients = [httpx.AsyncClient(timeout=TIMEOUT) for _ in secrets]
    scanners = [
        Scanner(gate, secret, client)
        for (gate, secret), client in zip(secrets.items(), clients, strict=True)
    ]
    limit = asyncio.Semaphore(passes_in_flight)

    async def one_pass(index: int, token: str) -> None:
        async with limit:
            await asyncio.gather(
                *(
                    scanner.scan(urls, (index + number) % len(urls), token, index)
                    for number, scanner in enumerate(scanners)
                )
            )
            if progress is not None:
                progress.put_nowait(index)

    try:
        await asyncio.gather(*(one_pass(i, token) for i, token in enumerate(tokens)))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return [scan for scanner in scanners for scan in scanner.scans]


async def read_audit(database_url: str) -> list[AuditRow]:
    async with (
        Runtime.open(_settings(database_url)) as runtime,
        runtime.storage.reading() as session,
    ):
        events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    return [AuditRow(e.gate, e.result, e.reason, e.pass_id) for e in events]


async def integrity_check(database_url: str) -> str:
    """The database's own verdict ('ok' when sound): SQLite's `PRAGMA integrity_check`, or
    Postgres's amcheck over every index of our tables (heap included)."""
    if backend_of(database_url) == "sqlite":
        path = make_url(database_url).database
        assert path is not None
        # Read-only: a missing file is an error, not a fresh empty database that checks ok.
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(row[0]) for row in rows)
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        await connection.execute(
            "SELECT bt_index_check(i.indexrelid, true) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public'"
        )
    except asyncpg.PostgresError as error:
        return f"amcheck: {error}"
    finally:
        await connection.close()
    return "ok"


def outcomes(scans: Sequence[Scan]) -> Counter[str]:
    return Counter(scan.outcome for scan in scans)
