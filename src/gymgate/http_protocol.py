"""uvicorn's httptools protocol with the limits it lacks: the size and read time of a request head.

httptools keeps an unfinished header in memory until its end arrives, and uvicorn bounds
neither its size nor how long a client may take to send it: twenty clients streaming 60 MB
headers took a server from 100 MB to 1.4 GB, and slow clients sending one header line every
few seconds (slowloris) held their connections forever. This subclass of uvicorn's protocol
(`gymgate serve` passes it as `uvicorn.run(http=...)`):

- answers 431 and closes once the request head passes `max_bytes`. It counts twice: the raw
  bytes read while the head is unfinished (this bounds what httptools buffers for a header
  that never ends) and the parsed target and header lines (this catches a head that arrives
  whole in one read);
- answers 408 and closes when the head is not complete `timeout_seconds` after the connection
  opened (or after the first byte of a later request on a kept-alive connection). A
  connection that has sent nothing at all is closed without an answer.

After either answer the connection half-closes and discards what still arrives for a second,
so the client reads the answer instead of a connection reset.

Everything after the head (body, response, keep-alive, uvicorn's `limit_concurrency` 503) is
uvicorn's own behaviour.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from gymgate.request_lines import AccessLine
from gymgate.settings import Settings

__all__ = ["BoundedHttpToolsProtocol", "HeadLimits", "protocol_for"]

log = logging.getLogger("gymgate.http")
# What a parsed header line costs besides its name and value: ": " and CRLF.
_HEADER_LINE_OVERHEAD = 4
# How long a refused client may go on sending (discarded) before the connection closes.
_LINGER_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """How big a request head may be and how long it may take to arrive."""

    max_bytes: int
    timeout_seconds: float


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop httptools mid-head."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that refuses oversized (431) and slow (408) request heads."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if self.access_log:  # uvicorn calls its .info(...) as each response starts
            self.access_logger = cast(logging.Logger, AccessLine(self.access_logger))
        self.limits = limits
        self._head_timer: asyncio.TimerHandle | None = None  # set while a head is unfinished
        self._head_received = 0  # raw bytes read since the head began
        self._head_parsed = 0  # target and header lines parsed so far
        self._head_too_large = False
        self._requested = False  # a request has begun on this connection
        self._lingering = False  # answered 408/431: reading only to discard
        self._linger_timer: asyncio.TimerHandle | None = None

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._begin_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._close()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        if self._head_timer is not None:
            self._head_received += len(data)
        super().data_received(data)
        # Still unfinished after this read: everything since its start is head.
        if self._head_timer is not None and self._head_received > self.limits.max_bytes:
            self._refuse_too_large()

    # ---- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._requested = True
        self._head_parsed = 0
        if self._head_timer is None:  # a later request on a kept-alive connection
            self._begin_head()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + _HEADER_LINE_OVERHEAD)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._end_head()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers every parser error with 400; the one `_count` raises is a 431."""
        if self._head_too_large:
            self._refuse_too_large()
        else:
            super().send_400_response(msg)

    # ---- the head's limits -----------------------------------------------------------------

    def _begin_head(self) -> None:
        self._head_received = 0
        self._head_timer = self.loop.call_later(self.limits.timeout_seconds, self._head_timed_out)

    def _end_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_received = 0

    def _count(self, size: int) -> None:
        self._head_parsed += size
        if self._head_parsed > self.limits.max_bytes:
            self._head_too_large = True
            raise _HeadTooLarge  # httptools stops; uvicorn calls send_400_response

    def _refuse_too_large(self) -> None:
        detail = f"request head larger than {self.limits.max_bytes} bytes"
        self._answer_and_close(431, detail)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._requested:
            self._close()  # nothing was asked: nothing to answer
        elif self._responding():
            self._begin_head()  # a pipelined head waits for the response before it
        else:
            self._answer_and_close(408, "request head not received in time")

    def _responding(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _answer_and_close(self, status: int, detail: str) -> None:
        self._end_head()
        if self._lingering or self.transport.is_closing():
            return
        log.warning("%s: %d to %s", detail, status, self.client)
        if self._responding():  # an answer now would cut into the one being sent
            self._close()
            return
        body = detail.encode("ascii")
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self._linger()

    def _linger(self) -> None:
        """Half-close after the answer and drop what the client still sends, for a moment:
        closing with unread bytes makes the kernel send a reset, which can destroy the
        answer before the client reads it."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger_timer = self.loop.call_later(_LINGER_SECONDS, self._close)

    def _close(self) -> None:
        self._end_head()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(settings: Settings) -> type[asyncio.Protocol]:
    """The protocol class to hand `uvicorn.run(http=...)`, with the settings' head limits."""
    limits = HeadLimits(settings.max_header_bytes, settings.header_timeout_seconds)
    # uvicorn only calls it, as it would the class; a partial of a module-level class
    # (unlike a class made here) pickles into the processes that --workers spawns.
    protocol = functools.partial(BoundedHttpToolsProtocol, limits=limits)
    return cast("type[asyncio.Protocol]", protocol)
