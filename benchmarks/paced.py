"""An open-loop load client: requests sent on a fixed schedule, whatever the answers do.

Each request's latency runs from its *scheduled* send time to its answer, so a stalled
server is charged for every request it held up (no coordinated omission). Raw asyncio
streams over keep-alive HTTP/1.1 connections: a new connection is opened whenever every
open one is busy, so the client never queues a request behind another.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Paced", "paced_load"]

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class Paced:
    rate: float
    sent: int
    latencies_ms: list[float]
    statuses: Counter[int]

    def percentile(self, share: float) -> float | None:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def p50_ms(self) -> float | None:
        return self.percentile(0.50)

    @property
    def p99_ms(self) -> float | None:
        return self.percentile(0.99)


# uvicorn closes a keep-alive connection idle for 5 s; one reused just then fails with no
# answer (one such "transport error" showed up in most P3 runs, charged to the server).
_IDLE_SECONDS = 4.0


class _Pool:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[_Connection, float]] = []  # most recently used last
        self.opened: list[asyncio.StreamWriter] = []

    def give_back(self, connection: _Connection) -> None:
        self.idle.append((connection, time.monotonic()))

    async def take(self) -> _Connection:
        if self.idle:
            connection, since = self.idle.pop()
            if time.monotonic() - since < _IDLE_SECONDS:
                return connection
            for (_, writer), _ in [(connection, since), *self.idle]:  # the rest: older still
                writer.close()
            self.idle.clear()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened.append(writer)
        return reader, writer

    def close(self) -> None:
        for writer in self.opened:
            writer.close()


async def _exchange(connection: _Connection, request: bytes) -> int:
    reader, writer = connection
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def _request(method: str, host: str, path: str, body: bytes, authorization: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    if body:
        lines.append("Content-Type: application/json")
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def paced_load(
    base_url: str,
    path: str,
    rate: float,
    seconds: float,
    body: Callable[[int], bytes],
    *,
    method: str = "POST",
    authorization: str = "",
) -> Paced:
    """Send `rate` requests a second for `seconds`; request i carries body(i).

    The client's own garbage collector is off meanwhile: a full collection of the bench
    process (tens of thousands of tokens and bodies) held its event loop for 100 to 300 ms,
    and every request it should have sent meanwhile was charged to whichever server was
    being measured (F5 and gymgate alike).
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool = _Pool(host, port)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    total = int(rate * seconds)

    async def one(i: int, scheduled: float) -> None:
        request = _request(method, f"{host}:{port}", path, body(i), authorization)
        try:
            connection = await pool.take()
            statuses[await _exchange(connection, request)] += 1
            pool.give_back(connection)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            statuses[0] += 1  # a transport error counts as an answer nobody wanted
        latencies.append((time.perf_counter() - scheduled) * 1000)

    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # the schedule, not a race: answers never move it
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
        pool.close()
    return Paced(rate, total, latencies, statuses)
