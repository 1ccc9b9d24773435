"""Domain errors → HTTP status codes, in one place; every error body has a human `detail`.

Only gymgate's own errors are mapped: storage failures arrive already translated (see
gymgate.storage.errors). Anything else is a bug: logged with its traceback, answered 500.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from gymgate.errors import (
    AlreadyExists,
    BindingConflict,
    GateRevoked,
    GymgateError,
    InvalidInput,
    KeyConflict,
    KeyStoreError,
    NotFound,
    PaymentConflict,
    PaymentNotCompleted,
    StorageUnavailable,
)
from gymgate.payments import ProviderError, WebhookRejected

__all__ = ["EXCEPTION_HANDLERS", "error_response"]

log = logging.getLogger("gymgate.api")

_STATUS: dict[type[GymgateError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    PaymentNotCompleted: 402,
    PaymentConflict: 409,
    BindingConflict: 409,
    AlreadyExists: 409,
    GateRevoked: 409,
    KeyConflict: 409,
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


def _route(request: Request[Any, Any, Any]) -> str:
    """The route's template, not the path: paths carry payment and pass ids, which are
    capabilities and never go into a log."""
    try:
        return min(request.route_handler.paths)
    except (AttributeError, KeyError, ValueError):
        return "(no route)"


def _domain_error(request: Request[Any, Any, Any], error: Exception) -> Response[object]:
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 500)
    if status >= 500:
        log.warning("%s on %s: %s", type(error).__name__, _route(request), error)
    headers = {"Retry-After": "1"} if status == 503 else None
    return _json(status, str(error), headers)


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[object]:
    log.exception("unexpected error on %s %s", request.method, _route(request))
    return _json(500, "internal error; it has been logged")


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
    Exception: _unexpected,
}


def error_response(request: Request[Any, Any, Any], error: Exception) -> Response[object]:
    """What the handlers above answer for `error`, for code that runs outside Litestar's
    exception handling (the gate's lane, api/gate_lane.py): the nearest class in its MRO."""
    for kind in type(error).__mro__:
        handler = EXCEPTION_HANDLERS.get(kind)
        if handler is not None:
            return handler(request, error)
    return _unexpected(request, error)
