"""Attack a throwaway `gymgate serve` at the HTTP edge and print what the server went through.

Two attacks, each against a fresh server (SQLite, dev mode) started by this script:

- `headers`: N connections each stream one huge header value; prints the server's RSS before
  and at its peak, the slowest /health answer meanwhile, and what each attacker got back.
- `slowloris`: N connections each send one header line every few seconds; prints how /health
  fared meanwhile (answered, refused, slowest) and how the attackers' connections ended.

    .venv/bin/python scripts/http_edge.py headers --connections 20 --megabytes 60
    .venv/bin/python scripts/http_edge.py slowloris --connections 1100 --interval 5 --seconds 30

Extra `GYMGATE_*` settings for the server go in the environment, e.g.
`GYMGATE_HEADER_TIMEOUT_SECONDS=2`. Figures vary with the machine; they are for people, not
for pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.databases import sqlite_url
from testkit.live_server import LiveServer

from gymgate.storage import upgrade_database

CHUNK = 64 * 1024


def rss_mb(pid: int) -> float:
    """The process's resident set size in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _ending(reader: asyncio.StreamReader) -> str:
    """How a connection ended from the client's side: the status line it got, or 'closed'."""
    try:
        line = await reader.readline()
    except ConnectionError:
        return "reset"
    return line.decode(errors="replace").strip() or "closed"


async def _huge_header(port: int, megabytes: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ending = asyncio.create_task(_ending(reader))
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: gymgate\r\nX-Flood: ")
        for _ in range(megabytes * 1024 * 1024 // CHUNK):
            if ending.done():
                break
            writer.write(b"a" * CHUNK)
            await writer.drain()
        else:
            writer.write(b"\r\n\r\n")
            await writer.drain()
    except ConnectionError:
        pass
    answer = await ending
    writer.close()
    return answer


async def _slow_headers(port: int, interval: float, seconds: float) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ending = asyncio.create_task(_ending(reader))
    deadline = time.monotonic() + seconds
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: gymgate\r\n")
        number = 0
        while time.monotonic() < deadline and not ending.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(ending), interval)
            writer.write(f"X-Slow-{number}: a\r\n".encode())
            number += 1
            await writer.drain()
    except ConnectionError:
        pass
    answer = await asyncio.wait_for(ending, 1) if ending.done() else "still open"
    ending.cancel()
    writer.close()
    return answer


async def _probe_health(url: str, stop: asyncio.Event) -> tuple[Counter[str], float]:
    """/health on a fresh connection every 200 ms until `stop`: outcomes and slowest answer."""
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    while not stop.is_set():
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=15) as client:
                response = await client.get(url + "/health")
            outcomes[str(response.status_code)] += 1
        except httpx.HTTPError as error:
            outcomes[type(error).__name__] += 1
        slowest = max(slowest, time.monotonic() - started)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)
    return outcomes, slowest


async def _watch_rss(pid: int, stop: asyncio.Event) -> float:
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, rss_mb(pid))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
    return peak


async def _attack(server: LiveServer, options: argparse.Namespace) -> None:
    assert server.process is not None
    pid = server.process.pid
    before = rss_mb(pid)
    stop = asyncio.Event()
    health = asyncio.create_task(_probe_health(server.url, stop))
    peak = asyncio.create_task(_watch_rss(pid, stop))
    started = time.monotonic()
    if options.attack == "headers":
        attackers = [
            _huge_header(server.port, options.megabytes) for _ in range(options.connections)
        ]
    else:
        attackers = [
            _slow_headers(server.port, options.interval, options.seconds)
            for _ in range(options.connections)
        ]
    endings = Counter(await asyncio.gather(*attackers))
    took = time.monotonic() - started
    stop.set()
    outcomes, slowest = await health
    print(f"attack: {options.attack}, {options.connections} connections, {took:.1f} s")
    print("attackers got: " + ", ".join(f"{k!r} x{v}" for k, v in endings.most_common()))
    print(f"server RSS: {before:.0f} MB before, {await peak:.0f} MB peak, {rss_mb(pid):.0f} after")
    print(
        "/health meanwhile: "
        + ", ".join(f"{k} x{v}" for k, v in sorted(outcomes.items()))
        + f"; slowest {slowest:.2f} s"
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("attack", choices=("headers", "slowloris"))
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=60, help="headers: per connection")
    parser.add_argument("--interval", type=float, default=5, help="slowloris: between lines")
    parser.add_argument("--seconds", type=float, default=30, help="slowloris: how long")
    return parser.parse_args()


def main() -> int:
    options = _arguments()
    with tempfile.TemporaryDirectory(prefix="gymgate-http-edge-") as directory:
        workdir = Path(directory)
        database_url = sqlite_url(workdir / "gymgate.db")
        upgrade_database(database_url)
        env = {
            "GYMGATE_DATABASE_URL": database_url,
            "GYMGATE_KEYS_DIR": str(workdir / "keys"),
            "GYMGATE_DEV_MODE": "1",
            "GYMGATE_LOG_LEVEL": "WARNING",
            **{k: v for k, v in os.environ.items() if k.startswith("GYMGATE_")},
        }
        with LiveServer(workdir, env) as server:
            asyncio.run(_attack(server, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
