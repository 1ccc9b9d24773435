"""Gate latency while /generate_qr SVGs are flooded: does drawing QRs stall /verify?

Starts `gymgate serve` on a fresh SQLite file, then for --seconds sends /verify at a steady
--rate (req/s, one pass each, so every answer is a real admission) while --flooders clients
post /generate_qr format=svg back to back. Prints the gate's p50/p99/max and how many SVGs
were drawn, once with QRs drawn on the event loop (GYMGATE_QR_WORKERS=0, as before the
pool) and once with the pool (default 1 worker). A report, not a test.

    .venv/bin/python scripts/qr_flood.py
    .venv/bin/python scripts/qr_flood.py --rate 100 --seconds 10 --flooders 8
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from testkit.cluster import add_gates, issue_passes
from testkit.databases import sqlite_url
from testkit.live_server import LiveServer, server_env

from gymgate.clock import SystemClock
from gymgate.keystore import KeyStore
from gymgate.settings import Settings
from gymgate.storage import upgrade_database

ADMIN_TOKEN = "qr-flood-admin-token-0123"  # noqa: S105  (a throwaway server's, on purpose)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100, help="/verify requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flooders", type=int, default=8, help="clients posting SVGs")
    return parser.parse_args()


async def _flood(client: httpx.AsyncClient, payment_id: str, stop: asyncio.Event) -> int:
    drawn = 0
    while not stop.is_set():
        try:
            response = await client.post(
                "/generate_qr", json={"payment_id": payment_id, "format": "svg"}
            )
        except httpx.TransportError:
            continue
        drawn += response.status_code == 201
    return drawn


async def _gate(
    client: httpx.AsyncClient, secret: str, tokens: list[str], rate: int, seconds: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    failed = 0

    async def one(token: str) -> None:
        nonlocal failed
        started = time.perf_counter()
        try:
            response = await client.post(
                "/verify", json={"token": token}, headers={"Authorization": f"Bearer {secret}"}
            )
        except httpx.TransportError:
            failed += 1
            return
        latencies.append(time.perf_counter() - started)
        failed += response.status_code != 200

    tasks = []
    start = time.perf_counter()
    for number in range(int(rate * seconds)):
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # the steady arrival rate of a busy gym's turnstiles
        tasks.append(asyncio.create_task(one(tokens[number])))
    await asyncio.gather(*tasks)
    return latencies, failed


async def _measure(workdir: Path, workers: int, options: argparse.Namespace) -> str:
    database = workdir / f"flood-{workers}.db"
    await asyncio.to_thread(upgrade_database, sqlite_url(database))  # alembic runs its own loop
    keys_dir = workdir / "keys"
    settings = Settings(
        database_url=sqlite_url(database), keys_dir=keys_dir, admin_token=ADMIN_TOKEN
    )
    secret = next(iter((await add_gates(settings.database_url, 1, keys_dir)).values()))
    count = int(options.rate * options.seconds)
    tokens = await issue_passes(settings.database_url, keys_dir, count)
    env = server_env(settings, GYMGATE_LOG_LEVEL="WARNING", GYMGATE_QR_WORKERS=str(workers))
    with LiveServer(workdir, env, startup_timeout=120) as server:
        # Keep-alive off: a server closing an idle connection is not what is measured here.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client,
            httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as gate,
        ):
            paid = await client.post("/create_payment", json={"email": "flood@example.com"})
            payment_id = paid.json()["payment_id"]
            stop = asyncio.Event()
            flooders = [
                asyncio.create_task(_flood(client, payment_id, stop))
                for _ in range(options.flooders)
            ]
            latencies, failed = await _gate(gate, secret, tokens, options.rate, options.seconds)
            stop.set()
            drawn = sum(await asyncio.gather(*flooders))
    ms = sorted(latency * 1000 for latency in latencies)
    p99 = ms[int(len(ms) * 0.99) - 1]
    return (
        f"GYMGATE_QR_WORKERS={workers}: /verify at {options.rate}/s x {options.seconds:g} s: "
        f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms, "
        f"{failed} not 200; "
        f"{drawn} SVGs drawn meanwhile by {options.flooders} flooders"
    )


async def _main(options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="gymgate-qr-flood-") as temporary:
        workdir = Path(temporary)
        KeyStore(workdir / "keys").rotate(SystemClock())
        for workers in (0, 1):
            print(await _measure(workdir, workers, options), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(_arguments()))
