"""One request header read straight off the ASGI scope.

On /verify, Litestar's `Headers` (every header parsed into a multidict, built once per
connection object) cost more than the one or two lookups the gate's path makes.
"""

from __future__ import annotations

from litestar.types import Scope

__all__ = ["first_header"]


def first_header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case: ASGI servers lower-case names)."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None
