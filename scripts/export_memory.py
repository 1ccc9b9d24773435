"""The CSV export's memory: seed N audit rows, stream GET /audit/export.csv from a live
`gymgate serve`, and report the server's resident memory before and at its peak while
exporting (sampled from /proc), plus how long the operator's summary of the range takes.

    .venv/bin/python scripts/export_memory.py                      # SQLite, 1,000,000 rows
    .venv/bin/python scripts/export_memory.py --postgres           # a throwaway Postgres
    .venv/bin/python scripts/export_memory.py --rows 200000
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.databases import PostgresDatabase, sqlite_url
from testkit.live_server import LiveServer

from gymgate.clock import SystemClock
from gymgate.keystore import KeyStore
from gymgate.storage import upgrade_database
from gymgate.storage.sqlite_setup import sqlite_path

ADMIN = "export-memory-admin-token"
REASONS = ("malformed", "expired", "already_used", None)
START = datetime(2026, 11, 1, tzinfo=UTC)


Seeded = tuple[datetime, str, str, str | None, str, str, str, str]


def rows(count: int) -> Iterator[Seeded]:
    """Audit rows a month of busy gates would leave: one every ~2.6 s, a mix of results."""
    step = timedelta(days=30) / count
    for n in range(count):
        reason = REASONS[n % len(REASONS)]
        yield (
            (START + step * n).replace(tzinfo=None),
            f"gate-{n % 7}",
            "deny" if reason else "allow",
            reason,
            f"pas_{n:012d}",
            f"usr_{n % 5000:08d}",
            "0" * 64,
            "online",
        )


COLUMNS = ("at", "gate", "result", "reason", "pass_id", "user_id", "token_sha256", "mode")
INSERT = (
    "INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, token_sha256, mode)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def seed_sqlite(url: str, count: int) -> None:
    with sqlite3.connect(sqlite_path(url)) as db:
        db.executemany(
            INSERT,
            ((r[0].isoformat(sep=" ", timespec="microseconds"), *r[1:]) for r in rows(count)),
        )


def seed_postgres(url: str, count: int) -> None:
    import asyncpg

    async def copy() -> None:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.copy_records_to_table(
                "audit_events", records=rows(count), columns=list(COLUMNS)
            )
            await connection.execute("ANALYZE audit_events")
        finally:
            await connection.close()

    asyncio.run(copy())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def measure(server: LiveServer, count: int) -> None:
    assert server.process is not None
    pid = server.process.pid
    headers = {"Authorization": f"Bearer {ADMIN}"}
    httpx.get(server.url + "/audit?limit=1", headers=headers, timeout=60).raise_for_status()
    before = rss_kib(pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    lines = size = 0
    started = time.monotonic()
    with httpx.stream(
        "GET", server.url + "/audit/export.csv", headers=headers, timeout=600
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
            size += len(chunk)
    took = time.monotonic() - started
    done.set()
    sampler.join()
    print(f"rows seeded:        {count:,}")
    print(f"CSV lines received: {lines:,} ({size / 2**20:.0f} MiB) in {took:.1f} s")
    print(f"server RSS before:  {before / 1024:.0f} MiB")
    print(f"server RSS peak:    {peak / 1024:.0f} MiB (+{(peak - before) / 1024:.0f} MiB)")
    day = {"since": "2026-11-15T00:00:00Z", "until": "2026-11-16T00:00:00Z"}
    for label, params in (("one day", day), ("all rows", {})):
        started = time.monotonic()
        httpx.get(
            server.url + "/audit/summary", params=params, headers=headers, timeout=120
        ).raise_for_status()
        print(f"summary of {label}: {1000 * (time.monotonic() - started):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        KeyStore(workdir / "keys").rotate(SystemClock())
        postgres = PostgresDatabase() if args.postgres else None
        if postgres is not None:
            postgres.create()
            url = postgres.url
        else:
            url = sqlite_url(workdir / "gymgate.db")
            upgrade_database(url)
        try:
            (seed_postgres if postgres else seed_sqlite)(url, args.rows)
            env = {
                "GYMGATE_DATABASE_URL": url,
                "GYMGATE_KEYS_DIR": str(workdir / "keys"),
                "GYMGATE_ADMIN_TOKEN": ADMIN,
                "GYMGATE_DEV_MODE": "1",  # the mock provider
            }
            with LiveServer(workdir, env) as server:
                measure(server, args.rows)
        finally:
            if postgres is not None:
                postgres.drop()


if __name__ == "__main__":
    main()
