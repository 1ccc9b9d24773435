"""A request id for every request: the caller's X-Request-ID if it is sane, else a new one.

It is bound for structlog while the request runs, so every log line written meanwhile
(including uvicorn's access line, written inside `send`) carries it, and it is returned in
the X-Request-ID response header so a client can quote it.
"""

from __future__ import annotations

import os
import re

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

__all__ = ["REQUEST_ID_HEADER", "RequestIdMiddleware", "request_id_from"]

REQUEST_ID_HEADER = "x-request-id"
_HEADER_NAME = REQUEST_ID_HEADER.encode()
# Ids from proxies and load balancers (uuids, hex, Amazon's Root=…); nothing that could
# forge a log line or smuggle a header.
_SANE = re.compile(r"[A-Za-z0-9._:=;/+-]{1,128}")


def request_id_from(scope: Scope) -> str:
    """The caller's id when it looks like one, otherwise 16 fresh random bytes in hex."""
    for name, value in scope["headers"]:
        if name == _HEADER_NAME:
            text = value.decode("latin-1")
            if _SANE.fullmatch(text):
                return text
            break
    return os.urandom(16).hex()


class RequestIdMiddleware:
    """A plain ASGI middleware: on every request, Litestar's middleware base class (scope and
    exclusion checks) cost as much again as the work itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        header = (_HEADER_NAME, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        tokens = bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            reset_contextvars(**tokens)
