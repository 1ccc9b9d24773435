"""Structured logs: one JSON object per line on stderr, for structlog and stdlib loggers alike.

Litestar's StructlogPlugin applies the configuration for the app; `configure_logging()`
applies the same one for the CLI before uvicorn starts, so uvicorn's own lines (start-up,
access, shutdown) come out as JSON too. Values bound with `structlog.contextvars` (the
request id, see gymgate.api.request_id) are merged into every line logged while they are
bound, whichever logger writes it. Keys that could carry a secret are masked, whoever
logged them.

The two lines written for every request, uvicorn's access line and the gate's decision line
(logger `gymgate.gate`), skip the logging machinery altogether: gymgate.request_lines renders
and batches them, in the same JSON shape. Other lines of those two loggers (the gate agent's,
uvicorn's access line when uvicorn runs without gymgate's protocol) skip structlog's
processor chain: `FlatJsonFormatter` renders them straight from the record's fields.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

import structlog
from litestar.logging.config import LoggingConfig, StructLoggingConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin
from structlog.typing import Processor

from gymgate import request_lines
from gymgate.request_lines import access_fields, timestamp

__all__ = [
    "FlatJsonFormatter",
    "InOrderStreamHandler",
    "configure_logging",
    "logging_plugin",
    "structlog_config",
]

# Never written, even when a caller passes them: tokens, secrets, credentials.
_SECRET_KEYS = frozenset(
    {"token", "authorization", "secret", "password", "admin_token", "stripe_signature"}
)


def _drop_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in _SECRET_KEYS.intersection(event):
        event[key] = "****"
    return event


def _uvicorn_access_fields(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Give uvicorn's access line fields instead of only a preformatted message."""
    args = event.pop("positional_args", None)  # already part of the message for other lines
    record = event.get("_record")
    if record is not None and record.name == "uvicorn.access" and args and len(args) == 5:
        event.update(event="request", **access_fields(args))
    return event


class FlatJsonFormatter(logging.Formatter):
    """A JSON line from a record's own fields, for the per-request lines.

    uvicorn's access record becomes `event: "request"` with client, method, path and status;
    any other record its message as `event`, plus the dict passed as `extra={"fields": ...}`.
    Values bound with `structlog.contextvars` (the request id) are merged in, as for every
    other line. Only named fields are written, so nothing can smuggle a secret in.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = structlog.contextvars.get_contextvars()
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            line.update(event="request", **access_fields(args))
        else:
            line["event"] = record.getMessage()
            line.update(getattr(record, "fields", {}))
        line["level"] = record.levelname.lower()
        line["logger"] = record.name
        line["timestamp"] = timestamp(record.created)
        return json.dumps(line, default=str)


class InOrderStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that first writes the batched request lines (gymgate.request_lines),
    so the log reads in the order things happened."""

    def emit(self, record: logging.LogRecord) -> None:
        request_lines.flush()
        super().emit(record)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _stdlib_config(level: str) -> LoggingConfig:
    handler = {
        "class": "gymgate.logs.InOrderStreamHandler",
        "formatter": "json",
        "stream": "ext://sys.stderr",
    }
    fast = {**handler, "formatter": "flat"}
    return LoggingConfig(
        formatters={
            "flat": {"()": FlatJsonFormatter},
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "pass_foreign_args": True,
                "foreign_pre_chain": [*_shared_processors(), _uvicorn_access_fields],
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    _drop_secrets,
                    structlog.processors.JSONRenderer(),
                ],
            },
        },
        # A plain stream handler: each line is formatted in the request's own context (so it
        # carries the request id), and reconfiguring starts no listener thread.
        handlers={"console": handler, "queue_listener": handler, "fast": fast},
        root={"handlers": ["console"], "level": level},
        loggers={
            "litestar": {"level": level, "handlers": ["console"], "propagate": False},
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": level, "handlers": ["fast"], "propagate": False},
            "gymgate.gate": {"level": level, "handlers": ["fast"], "propagate": False},
        },
    )


def structlog_config(level: str) -> StructLoggingConfig:
    """structlog through the stdlib handler above, filtered at `level` before any work."""
    return StructLoggingConfig(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        standard_lib_logging_config=_stdlib_config(level),
        pretty_print_tty=False,
    )


def _skip_caller_lookup() -> None:
    """No line of ours names its caller's file and line: don't walk the stack to find them.

    The stdlib logger looks for the calling frame on every record unless `_srcfile` is None
    (the switch logging's own source documents); behind structlog's logger class that walk
    costs 3 % of a /verify, for two fields no formatter here writes.
    """
    logging._srcfile = None


def logging_plugin(level: str) -> StructlogPlugin:
    """The app's logging: Litestar's structlog plugin, without its request/response logger
    (uvicorn's access line already says what was asked and answered, and bodies hold tokens).
    """
    _skip_caller_lookup()
    config = StructlogConfig(
        structlog_logging_config=structlog_config(level), enable_middleware_logging=False
    )
    return StructlogPlugin(config)


def configure_logging(level: str) -> None:
    """Apply the same configuration outside an app (the CLI, before uvicorn starts)."""
    _skip_caller_lookup()
    config = structlog_config(level)
    config.configure()
    assert config.standard_lib_logging_config is not None  # set in structlog_config
    config.standard_lib_logging_config.configure()
