"""Request-scoped dependencies: the runtime of this process and a database session."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.api.runtime import Runtime

__all__ = ["provide_runtime", "provide_session"]


def provide_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    runtime: Runtime = state.runtime
    async with runtime.database.session() as session:
        yield session
