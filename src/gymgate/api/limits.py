"""Request limits added at app start: rate limits on the public write endpoints, JSON bodies only.

Rate limits use Litestar's own RateLimitMiddleware, one budget per client IP and endpoint on
/verify, /create_payment and /generate_qr, and one per gate credential on /verify (so a
busy entrance behind one NAT address is still limited per turnstile). A refused request
gets 429 with Retry-After. Budgets live in each process's memory: with several servers
behind a balancer the effective limit is per server. `GYMGATE_RATE_LIMIT_PER_MINUTE=0`
(the default) turns them off.

A body sent with a content type other than JSON is refused with 415 before it is parsed:
HTML forms and `text/plain` cross-site posts cannot reach the API as JSON. A body nested
deeper than MAX_JSON_DEPTH is refused with 400 while it is read, before any decoder recurses
into it (see api/json_nesting.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.config.app import AppConfig
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException
from litestar.middleware.rate_limit import (
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from gymgate.api.json_nesting import MAX_JSON_DEPTH, NestingCounter
from gymgate.settings import Settings

__all__ = ["LIMITED_PATHS", "request_limits"]

LIMITED_PATHS = frozenset({"/verify", "/create_payment", "/generate_qr"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class _RateLimit(RateLimitMiddleware):
    """Litestar's limiter, with Retry-After and a detail a person can act on."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as refused:
            headers = dict(refused.headers or {})
            wait = max(1, int(headers.get(self.config.rate_limit_reset_header_key, "1")))
            raise TooManyRequestsException(
                f"too many requests: at most {self.max_requests} a {self.unit} "
                f"{self.scope_description}; retry in {wait} s",
                headers={**headers, "Retry-After": str(wait)},
            ) from None

    @property
    def scope_description(self) -> str:
        per_gate = self.get_identifier_for_request is _per_gate
        return "per gate" if per_gate else "per client address on this endpoint"


def _per_client(request: Request[Any, Any, Any]) -> str:
    return f"ip {get_remote_address(request)} {request.url.path}"


def _per_gate(request: Request[Any, Any, Any]) -> str:
    # The presented credential, hashed: the limiter's memory never holds a gate secret.
    presented = request.headers.get("authorization", "")
    return "gate " + hashlib.sha256(presented.encode("utf-8", "replace")).hexdigest()


def _is_limited(request: Request[Any, Any, Any]) -> bool:
    return request.url.path in LIMITED_PATHS


def _is_verify(request: Request[Any, Any, Any]) -> bool:
    return request.url.path == "/verify"


def _rate_limits(per_minute: int) -> list[RateLimitConfig]:
    return [
        RateLimitConfig(
            rate_limit=("minute", per_minute),
            identifier_for_request=identify,
            check_throttle_handler=applies,
            middleware_class=_RateLimit,
            store="rate_limit",
        )
        for identify, applies in ((_per_client, _is_limited), (_per_gate, _is_verify))
    ]


class JsonBodiesOnly:
    """415 for a body whose declared content type is not JSON; 400 for JSON nested too deeply."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] in _BODY_METHODS:
            headers = Headers.from_scope(scope)
            declared = headers.get("content-type", "").split(";")[0].strip().lower()
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            if declared and has_body and not _is_json(declared):
                raise HTTPException(
                    status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                    detail=f"send the body as JSON with 'Content-Type: application/json', "
                    f"not {declared}",
                )
            receive = _refusing_deep_json(receive)
        await self.app(scope, receive, send)


def _refusing_deep_json(receive: Receive) -> Receive:
    """`receive`, raising 400 as soon as the body read so far nests too deeply."""
    nesting = NestingCounter()

    async def receive_checked() -> ReceiveMessage:
        message = await receive()
        if message["type"] == "http.request" and not nesting.feed(message.get("body", b"")):
            raise ValidationException(
                f"JSON nested too deeply: at most {MAX_JSON_DEPTH} levels of [ ] and {{ }}"
            )
        return message

    return receive_checked


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def request_limits(settings: Settings) -> Callable[[AppConfig], AppConfig]:
    """An `on_app_init` hook adding the limits above to an app's middleware."""

    def add_limits(config: AppConfig) -> AppConfig:
        config.middleware.append(JsonBodiesOnly)
        if settings.rate_limit_per_minute > 0:
            for limit in _rate_limits(settings.rate_limit_per_minute):
                config.middleware.append(limit.middleware)
        return config

    return add_limits
