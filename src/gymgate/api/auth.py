"""Who may call what: gate secrets for /verify, the admin token for operator views."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from gymgate.runtime import Runtime

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
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise PermissionDeniedException("that admin token is not valid")


async def authenticated_gate(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> str:
    """The name of the gate whose secret was presented; 401 otherwise.

    It takes `runtime` as a dependency of its own so that /verify's two dependencies resolve
    one after the other: resolved side by side, Litestar opens an anyio task group for every
    request, 12 % of a /verify.
    """
    secret = bearer_token(request)
    gate = await runtime.gates.authenticate(secret) if secret else None
    if gate is None:
        raise NotAuthorizedException(
            "a valid gate secret is required: 'Authorization: Bearer <secret>' "
            "(create one with `gymgate gates add NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return gate
