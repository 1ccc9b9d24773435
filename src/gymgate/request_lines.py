"""The two lines every request writes (uvicorn's access line, the gate's decision line),
rendered and written cheaply, in the shape of every other log line.

Through the stdlib logger each line cost 27 to 39 µs (a LogRecord, handler locks, json.dumps, a
write and a flush), 7 % of a /verify. Here a line is a dict encoded by msgspec and appended to
a buffer that is written out 50 ms after its first line (and whenever anything else is
logged, so lines stay in order, and when the server stops): about 5 µs, one write per batch.
The price: a process killed with SIGKILL loses at most its last 50 ms of request lines (the
audit table, not the log, is the record of every decision). The level still comes from the
logging configuration: a line is written only when its logger is enabled for INFO.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

__all__ = [
    "FLUSH_SECONDS",
    "AccessLine",
    "access_fields",
    "flush",
    "redact_path",
    "timestamp",
    "write_line",
]

FLUSH_SECONDS = 0.05
_ENCODER = msgspec.json.Encoder(enc_hook=str)
_pending: list[bytes] = []
# Payment and pass ids in a path are capabilities (whoever has a payment id can draw its QR),
# and query strings can hold an email address: the access log keeps neither.
_ID_IN_PATH = re.compile(r"^/(payments|passes)/(?!by-link(?:$|/)|resend(?:$|/))[^/?]+")
_scheduled: asyncio.TimerHandle | None = None
# A second and its date and time of day, replaced as one tuple: lines are also written from
# logging's threads, and a reader must never pair one second's text with another second.
_second: tuple[int, str] = (-1, "")


def write_line(logger: logging.Logger, event: str, fields: dict[str, Any]) -> None:
    """One INFO line from `logger`: the bound context (the request id), `event`, `fields`."""
    if not logger.isEnabledFor(logging.INFO):
        return
    line: dict[str, Any] = structlog.contextvars.get_contextvars()
    line["event"] = event
    line.update(fields)
    line["level"] = "info"
    line["logger"] = logger.name
    line["timestamp"] = timestamp(time.time())
    _pending.append(_ENCODER.encode(line))
    _flush_soon()


def timestamp(now: float) -> str:
    """`now` as `datetime.isoformat()` writes it in UTC, to the microsecond (truncated).

    The date and time of day are formatted once per second: formatting the whole moment on
    every line was a third of a line's cost, and each /verify writes two lines."""
    global _second
    second = int(now)
    cached, text = _second
    if second != cached:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second = (second, text)
    return f"{text}.{int((now - second) * 1_000_000):06d}+00:00"


def redact_path(path: object) -> str:
    """The request path as logged: ids after /payments/ and /passes/ masked, no query."""
    text = str(path).split("?", 1)[0]
    return _ID_IN_PATH.sub(lambda match: f"/{match.group(1)}/{{id}}", text)


def access_fields(args: tuple[Any, ...]) -> dict[str, Any]:
    """The fields of an access line, from uvicorn's (client, method, path, version, status)."""
    client, method, path, _version, status = args
    return {"client": client, "method": method, "path": redact_path(path), "status": status}


def _flush_soon() -> None:
    global _scheduled
    if _scheduled is not None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not on an event loop (a CLI command): no one would flush later
        flush()
        return
    _scheduled = loop.call_later(FLUSH_SECONDS, flush)


def flush() -> None:
    """Write every pending line to stderr now."""
    global _scheduled
    if _scheduled is not None:
        _scheduled.cancel()
        _scheduled = None
    if not _pending:
        return
    lines = b"\n".join(_pending) + b"\n"
    _pending.clear()
    stream = sys.stderr
    stream.flush()  # whatever the text layer holds goes first
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        raw.write(lines)
        raw.flush()
    else:
        stream.write(lines.decode())
        stream.flush()


atexit.register(flush)


class AccessLine:
    """Stands in for uvicorn's access logger (see gymgate.http_protocol): uvicorn calls
    `info(format, client, method, path, http_version, status)` as a response starts."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def info(self, _format: str, *args: Any) -> None:
        write_line(self.logger, "request", access_fields(args))
