"""QR drawing off the event loop: a small process pool, so a flood of /generate_qr (an SVG is
~28 ms of pure Python) never holds up /verify on the same server.

The pool's processes come from a fork server that has imported gymgate.qr already: starting
one is a cheap fork of a process with no threads and no open database, and the first QR does
not pay for the imports. Processes start on the first drawing and stop with the runtime.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from gymgate import qr

__all__ = ["QrDrawer"]

T = TypeVar("T")


class QrDrawer:
    """Draws a token's QR as PNG, SVG or a PNG data URL in `workers` other processes (0: on
    the event loop itself, as before the pool; kept to measure against)."""

    def __init__(self, workers: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["gymgate.qr"])  # once, before the server starts
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    async def png(self, token: str) -> bytes:
        return await self._draw(qr.qr_png, token)

    async def svg(self, token: str) -> bytes:
        return await self._draw(qr.qr_svg, token)

    async def data_url(self, token: str) -> str:
        return await self._draw(qr.qr_data_url, token)

    async def _draw(self, draw: Callable[[str], T], token: str) -> T:
        if self._pool is None:
            return draw(token)
        return await asyncio.get_running_loop().run_in_executor(self._pool, draw, token)

    def worker_pids(self) -> list[int]:
        """The pool's live processes (none before the first drawing or after close)."""
        processes = getattr(self._pool, "_processes", None) or {}  # None when not started
        return [pid for pid, process in processes.items() if process.is_alive()]

    async def close(self) -> None:
        """Stop the processes (drawings not yet started are cancelled) and wait for them."""
        if self._pool is not None:
            await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
