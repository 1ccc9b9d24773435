"""A TCP proxy the test controls: the database 'goes away' for one server and comes back,
while the shared Postgres cluster (which other tests use) keeps running."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from testkit.live_server import free_port

__all__ = ["TcpProxy"]

T = TypeVar("T")
CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target.

    `cut()` refuses new connections and resets the open ones (the database host is gone);
    `stall()` holds every byte both ways (a partition: nothing fails, nothing answers, and
    TCP delivers it all once the network heals); `restore()` ends either.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()
        self._flowing: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cut()
        self._call(self._cancel_pipes())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def restore(self) -> None:
        self._call(self._flow(True))
        self._call(self._listen())

    def stall(self) -> None:
        self._call(self._flow(False))

    def cut(self) -> None:
        self._call(self._cut())

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run on the proxy's loop and wait: the change is in force when this returns."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _flow(self, flowing: bool) -> None:
        if self._flowing is None:
            self._flowing = asyncio.Event()
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accepted, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()  # RST, like a database host that vanished
        self._transports.clear()

    async def _cancel_pipes(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accepted(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._pipe_both_ways(client_reader, client_writer)
        finally:
            self._tasks.discard(task)

    async def _pipe_both_ways(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self._transports.add(client_writer.transport)
        assert self._flowing is not None
        await self._flowing.wait()  # a connection made during a partition waits it out
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._transports.add(target_writer.transport)
        await asyncio.gather(
            self._pipe(client_reader, target_writer), self._pipe(target_reader, client_writer)
        )
        self._transports -= {client_writer.transport, target_writer.transport}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()
