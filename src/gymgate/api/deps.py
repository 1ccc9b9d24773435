"""Request-scoped dependencies: the runtime of this process."""

from __future__ import annotations

from litestar.datastructures import State

from gymgate.runtime import Runtime

__all__ = ["provide_runtime"]


def provide_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime
