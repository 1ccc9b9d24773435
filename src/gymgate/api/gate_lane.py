"""The gate's lane: POST /verify answered without Litestar's per-route machinery.

A scan at a turnstile is the one request a gym sends hundreds of times a minute, and on it
Litestar's generic work (signature model, dependency resolution, response building) cost as
much as the signature check and the transaction together. This middleware, last in the
app's list (so inside the request id, metrics, JSON-only and rate-limit middlewares, whose
rules apply to it as to every route), answers a well-formed /verify itself with the very
same steps as the route (`authenticated_gate`, `decide`, the same error handlers). Anything
it does not recognise as well-formed (a body that is not a JSON object with a string token,
a missing body) goes on to the route, which reads the cached body and explains what is
wrong. So there is one set of rules and one error format, and the route stays in the
OpenAPI schema.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)
from litestar.utils.scope.state import ScopeState

from gymgate.api.auth import authenticated_gate
from gymgate.api.errors import error_response
from gymgate.api.limits import VERIFY_PATH
from gymgate.api.observe import decide
from gymgate.api.raw_headers import first_header
from gymgate.api.schemas import VerifyRequest
from gymgate.decisions import decision_body
from gymgate.runtime import Runtime

__all__ = ["GateLane"]

_DECODER = msgspec.json.Decoder(VerifyRequest)
_ENCODER = msgspec.json.Encoder()
_JSON = (b"content-type", b"application/json")


class GateLane:
    """ASGI middleware: POST /verify with a JSON object body and a string token, decided here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != VERIFY_PATH or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive, send)
        try:
            body = await _read_body(scope, receive)
            token = _DECODER.decode(body).token
            if not isinstance(token, str):
                raise msgspec.ValidationError("token is not a string")
        except msgspec.MsgspecError:
            await self.app(scope, receive, send)  # the route reads the cached body and explains
            return
        except Exception as error:
            await _answer_error(request, error, scope, receive, send)
            return
        runtime: Runtime = request.app.state.runtime
        try:
            gate = await authenticated_gate(request, runtime)
            decision = await decide(runtime, token, gate)
        except Exception as error:
            await _answer_error(request, error, scope, receive, send)
            return
        content = _ENCODER.encode(decision_body(decision))
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 200,
            "headers": [_JSON, (b"content-length", str(len(content)).encode())],
        }
        await send(start)
        body_event: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": content,
            "more_body": False,
        }
        await send(body_event)
        await runtime.sweeper.sweep_if_due()


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    """The body, read as Litestar's `Request.body()` reads it (413 past the route's size
    limit: at once for an announced Content-Length, else as the bytes arrive) and kept where
    a `Request` of the route finds it, but without building a `Headers` object for the one
    Content-Length lookup (its share of a scan was larger than the rest of the read)."""
    route: HTTPRouteHandler = scope["route_handler"]  # type: ignore[assignment]  # POST /verify
    limit = route.resolve_request_max_body_size() or math.inf
    announced = first_header(scope, b"content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise RequestEntityTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    ScopeState.from_scope(scope).body = body
    return body


async def _answer_error(
    request: Request[Any, Any, Any], error: Exception, scope: Scope, receive: Receive, send: Send
) -> None:
    response = error_response(request, error).to_asgi_response(None, request)
    await response(scope, receive, send)
