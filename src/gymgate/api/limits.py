"""Request limits added at app start: rate budgets, JSON bodies only, JSON not nested too deeply.

Budgets (429 with Retry-After when spent), counted per client address as `client_address`
sees it, in fixed one-minute windows held in this process's memory (with several servers
behind a balancer the effective budget is per server):

- /create_payment, /generate_qr and the wallet passes: `GYMGATE_WRITE_LIMIT_PER_MINUTE` per
  address on each endpoint, on by default (60), so nobody can fill the payments table from
  one machine;
- /verify: `GYMGATE_RATE_LIMIT_PER_MINUTE` per address and per gate credential (so a busy
  entrance behind one NAT address is still limited per turnstile); off by default (0), as a
  gym's turnstiles often share one address.

Each request costs a dictionary lookup or two (see api/windows.py); Litestar's own limiter,
used before, decoded and re-encoded each client's whole history on every request.

A body sent with a content type other than JSON is refused with 415 before it is parsed:
HTML forms and `text/plain` cross-site posts cannot reach the API as JSON. A body nested
deeper than MAX_JSON_DEPTH is refused with 400 while it is read, before any decoder recurses
into it (see api/json_nesting.py).

Failed authentication is throttled separately, by default, in api/throttle.py.

Both refusals are answered here, not raised: an exception raised by a middleware is turned
into a response by Litestar outside every middleware, so the Prometheus middleware counted
those 415s and 429s as the 200 it assumes, and the security and request-id headers were lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from litestar.config.app import AppConfig
from litestar.enums import MediaType, ScopeType
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException
from litestar.middleware.base import DefineMiddleware
from litestar.response.base import ASGIResponse
from litestar.serialization import encode_json
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.types import ASGIApp, Middleware, Receive, ReceiveMessage, Scope, Send

from gymgate.api.client_address import client_address
from gymgate.api.json_nesting import MAX_JSON_DEPTH, NestingCounter
from gymgate.api.raw_headers import first_header
from gymgate.api.throttle import install_throttle
from gymgate.api.windows import WindowCounter
from gymgate.clock import Clock, SystemClock
from gymgate.settings import Settings

__all__ = ["LIMITED_PATHS", "WRITE_PATHS", "RateLimits", "request_limits"]

# Public endpoints that create or sign something.
WRITE_PATHS = frozenset(
    {
        "/create_payment",
        "/generate_qr",
        "/passes/resend",
        "/passes/wallet/apple",
        "/passes/wallet/google",
    }
)
VERIFY_PATH = "/verify"
LIMITED_PATHS = WRITE_PATHS | {VERIFY_PATH}
WINDOW_SECONDS = 60.0
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class _Budget:
    """One budget: `per_minute` requests per key, keys counted in a bounded table."""

    def __init__(self, per_minute: int, what: str) -> None:
        self.per_minute = per_minute
        self.what = what
        self.counter = WindowCounter(WINDOW_SECONDS)

    def refusal(self, key: str, now: float) -> TooManyRequestsException | None:
        if self.counter.count(key, now) < self.per_minute:
            return None
        wait = self.counter.retry_after(key, now)
        return TooManyRequestsException(
            f"too many requests: at most {self.per_minute} a minute {self.what}; retry in {wait} s",
            headers={
                "Retry-After": str(wait),
                "RateLimit-Limit": str(self.per_minute),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(wait),
            },
        )


class RateLimits:
    """429 for a client address (or, on /verify, a gate) over its budget this minute."""

    def __init__(self, app: ASGIApp, settings: Settings, clock: Clock) -> None:
        self.app = app
        self._clock = clock
        self._trusted = settings.trusted_proxies
        self._writes = _budget(
            settings.write_limit_per_minute, "per client address on this endpoint"
        )
        self._verify_per_address = _budget(settings.rate_limit_per_minute, "per client address")
        self._verify_per_gate = _budget(settings.rate_limit_per_minute, "per gate")
        # Only the paths with a budget on: no address or hash is computed for the others.
        self._paths = (WRITE_PATHS if self._writes else frozenset()) | (
            {VERIFY_PATH} if self._verify_per_gate else frozenset()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"] in self._paths:
            refused = self._spend(scope)
            if refused is not None:
                await _answer(refused, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _spend(self, scope: Scope) -> TooManyRequestsException | None:
        """Count this request against its budgets, or the 429 (counting nothing)."""
        address = client_address(scope, self._trusted)
        if scope["path"] == VERIFY_PATH:
            charges = [(self._verify_per_address, address), (self._verify_per_gate, _gate(scope))]
        else:
            charges = [(self._writes, f"{address} {scope['path']}")]
        now = self._clock.now()
        for budget, key in charges:
            if budget is not None and (refused := budget.refusal(key, now)) is not None:
                return refused
        for budget, key in charges:
            if budget is not None:
                budget.counter.add(key, now)
        return None


def _budget(per_minute: int, what: str) -> _Budget | None:
    return _Budget(per_minute, what) if per_minute > 0 else None


def _gate(scope: Scope) -> str:
    # The presented credential, hashed: the limiter's memory never holds a gate secret.
    return hashlib.sha256(first_header(scope, b"authorization") or b"").hexdigest()


class JsonBodiesOnly:
    """415 for a body whose declared content type is not JSON; 400 for JSON nested too deeply."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] in _BODY_METHODS:
            declared, has_body = _declared_body(scope["headers"])
            if declared and has_body and not _is_json(declared):
                refused = HTTPException(
                    status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                    detail=f"send the body as JSON with 'Content-Type: application/json', "
                    f"not {declared}",
                )
                await _answer(refused, scope, receive, send)
                return
            receive = _refusing_deep_json(receive)
        await self.app(scope, receive, send)


def _declared_body(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, bool]:
    """The declared media type (lower case, no parameters) and whether a body is announced,
    read straight off the raw headers (ASGI names are lower case): no Headers object."""
    content_type = length = None
    chunked = False
    for name, value in headers:
        if name == b"content-type" and content_type is None:
            content_type = value
        elif name == b"content-length" and length is None:
            length = value
        elif name == b"transfer-encoding":
            chunked = True
    declared = (content_type or b"").decode("latin-1").split(";")[0].strip().lower()
    return declared, chunked or (length is not None and length != b"0")


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


async def _answer(error: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    """Send `error` as gymgate's JSON error body from inside the middleware stack."""
    body = encode_json({"status_code": error.status_code, "detail": error.detail})
    response = ASGIResponse(
        body=body, status_code=error.status_code, media_type=MediaType.JSON, headers=error.headers
    )
    await response(scope, receive, send)


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def request_limits(
    settings: Settings, clock: Clock | None = None
) -> tuple[list[Middleware], Callable[[AppConfig], AppConfig]]:
    """The limits above as middleware, outermost first, and an `on_app_init` hook that
    installs the login throttle in the app's state."""
    time = clock or SystemClock()
    middleware: list[Middleware] = [JsonBodiesOnly]
    if settings.write_limit_per_minute > 0 or settings.rate_limit_per_minute > 0:
        middleware.append(DefineMiddleware(RateLimits, settings=settings, clock=time))

    def add_throttle(config: AppConfig) -> AppConfig:
        install_throttle(config.state, settings.auth_failures_per_minute, time)
        return config

    return middleware, add_throttle
