"""Who may call what: gate secrets for /verify, the admin token for operator views.

Wrong credentials are counted per client address and throttled (see api/throttle.py)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from gymgate.api.client_address import client_address
from gymgate.api.runtime import Runtime
from gymgate.api.throttle import AuthThrottle, throttle_of

__all__ = ["authenticated_gate", "bearer_token", "require_admin"]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer …` header, if there is one."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the admin token, compared in constant time."""
    runtime: Runtime = connection.app.state.runtime
    expected = runtime.settings.admin_token
    if expected is None:
        raise PermissionDeniedException("the operator API is off: set GYMGATE_ADMIN_TOKEN")
    presented = bearer_token(connection)
    if presented is None:
        raise NotAuthorizedException(
            "send the admin token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle, address = _throttle_and_address(connection, runtime)
    with throttle.attempt(address, presented) as attempt:
        attempt.worked = hmac.compare_digest(presented.encode(), expected.encode())
    if not attempt.worked:
        raise PermissionDeniedException("that admin token is not valid")


async def authenticated_gate(request: Request[Any, Any, Any]) -> str:
    """The name of the gate whose secret was presented; 401 otherwise."""
    runtime: Runtime = request.app.state.runtime
    secret = bearer_token(request)
    gate = None
    if secret is not None:
        throttle, address = _throttle_and_address(request, runtime)
        with throttle.attempt(address, secret) as attempt:
            gate = await runtime.gates.authenticate(secret)
            attempt.worked = gate is not None
    if gate is None:
        raise NotAuthorizedException(
            "a valid gate secret is required: 'Authorization: Bearer <secret>' "
            "(create one with `gymgate gates add NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return gate


def _throttle_and_address(
    connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime
) -> tuple[AuthThrottle, str]:
    address = client_address(connection.scope, runtime.settings.trusted_proxies)
    return throttle_of(connection.app.state), address
