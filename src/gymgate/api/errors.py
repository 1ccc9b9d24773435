"""Domain errors → HTTP status codes, in one place; every error body has a human `detail`."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError

from gymgate.db import as_storage_unavailable
from gymgate.errors import (
    GymgateError,
    InvalidInput,
    KeyStoreError,
    NotFound,
    PaymentConflict,
    PaymentNotCompleted,
    StorageUnavailable,
)
from gymgate.payments import ProviderError, WebhookRejected

__all__ = ["EXCEPTION_HANDLERS"]

log = logging.getLogger("gymgate.api")

_STATUS: dict[type[GymgateError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    PaymentNotCompleted: 402,
    PaymentConflict: 409,
    ProviderError: 502,
    WebhookRejected: 400,
    KeyStoreError: 503,
    StorageUnavailable: 503,
}


def _json(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[object]:
    return Response(
        {"status_code": status, "detail": detail},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _domain_error(_: Request[Any, Any, Any], error: Exception) -> Response[object]:
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 500)
    if status >= 500:
        log.warning("request failed: %s", error)
    headers = {"Retry-After": "1"} if status == 503 else None
    return _json(status, str(error), headers)


def _storage_error(request: Request[Any, Any, Any], error: Exception) -> Response[object]:
    if _is_unstorable_text(error):
        return _json(400, "text must not contain NUL (\\u0000) characters")
    unavailable = as_storage_unavailable(error)
    if unavailable is None:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _json(500, "internal error; it has been logged")
    log.warning("database unavailable on %s: %s", request.url.path, type(error).__name__)
    return _json(503, str(unavailable), {"Retry-After": "1"})


def _is_unstorable_text(error: Exception) -> bool:
    """Postgres refuses NUL in text (SQLSTATE 22021): the client's bad input, not our fault."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == "22021"


def _http_error(_: Request[Any, Any, Any], error: Exception) -> Response[object]:
    assert isinstance(error, HTTPException)
    body: dict[str, object] = {"status_code": error.status_code, "detail": error.detail}
    if error.extra:
        body["extra"] = error.extra
    return Response(
        body, status_code=error.status_code, media_type=MediaType.JSON, headers=error.headers
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GymgateError: _domain_error,
    HTTPException: _http_error,
    Exception: _storage_error,
}
