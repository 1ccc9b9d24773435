"""Who may call what: gate secrets for /verify, the admin token for operator views.

Wrong credentials are counted per client address and throttled (see api/throttle.py)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler

from gymgate.api.client_address import client_address
from gymgate.api.raw_headers import first_header
from gymgate.api.throttle import AuthThrottle, throttle_of
from gymgate.metrics import record_auth_failure
from gymgate.runtime import Runtime
from gymgate.services.gates import REVOKED_GATE_DETAIL

__all__ = ["authenticated_gate", "bearer_token", "require_admin"]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer …` header, if there is one."""
    presented = first_header(connection.scope, b"authorization") or b""
    scheme, _, token = presented.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the admin token, compared in constant time; every refusal is counted."""
    refusal = _admin_refusal(connection)
    if refusal is not None:
        record_auth_failure("admin")
        raise refusal


def _admin_refusal(connection: ASGIConnection[Any, Any, Any, Any]) -> HTTPException | None:
    runtime: Runtime = connection.app.state.runtime
    expected = runtime.settings.admin_token
    if expected is None:
        return PermissionDeniedException("the operator API is off: set GYMGATE_ADMIN_TOKEN")
    presented = bearer_token(connection)
    if presented is None:
        return NotAuthorizedException(
            "send the admin token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle, address = _throttle_and_address(connection, runtime)
    with throttle.attempt(address, presented) as attempt:
        attempt.worked = hmac.compare_digest(presented.encode(), expected.encode())
    if not attempt.worked:
        return PermissionDeniedException("that admin token is not valid")
    return None


async def authenticated_gate(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> str:
    """The name of the gate whose secret was presented; 401 otherwise.

    It takes `runtime` as a dependency of its own so that /verify's two dependencies resolve
    one after the other: resolved side by side, Litestar opens an anyio task group for every
    request, 12 % of a /verify.
    """
    secret = bearer_token(request)
    gate = None
    if secret is not None:
        throttle, address = _throttle_and_address(request, runtime)
        with throttle.attempt(address, secret) as attempt:
            gate = await runtime.gates.authenticate(secret)
            attempt.worked = gate is not None
    if gate is None and secret and runtime.gates.was_revoked(secret):
        record_auth_failure("gate")
        raise NotAuthorizedException(
            REVOKED_GATE_DETAIL, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if gate is None:
        record_auth_failure("gate")
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
