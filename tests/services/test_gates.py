"""The gate registry: a stale cache is reloaded once however many requests find it stale,
revoked and rotated secrets stop authenticating."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import FrozenClock
from gymgate.errors import InvalidInput
from gymgate.runtime import Runtime
from gymgate.services.gates import Gates, enrollment_code, parse_enrollment_code


class CountingReads:
    """The runtime's storage, counting read sessions."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def reading(self, *, snapshot: bool = False) -> AbstractAsyncContextManager[AsyncSession]:
        self.reads += 1
        reading: AbstractAsyncContextManager[AsyncSession] = self._storage.reading(
            snapshot=snapshot
        )
        return reading


async def test_concurrent_requests_share_one_reload(runtime: Runtime, clock: FrozenClock) -> None:
    secret = await runtime.gates.add("front-door")
    storage = CountingReads(runtime.storage)
    gates = Gates(storage, clock)

    names = await asyncio.gather(*(gates.authenticate(secret) for _ in range(20)))

    assert names == ["front-door"] * 20
    assert storage.reads == 1


async def test_a_revoked_gate_no_longer_authenticates(runtime: Runtime) -> None:
    secret = await runtime.gates.add("front-door")
    assert await runtime.gates.authenticate(secret) == "front-door"

    await runtime.gates.revoke("front-door")

    assert await runtime.gates.authenticate(secret) is None
    assert runtime.gates.was_revoked(secret)


async def test_a_rotated_secret_replaces_the_old_one(runtime: Runtime) -> None:
    old = await runtime.gates.add("front-door")

    new = await runtime.gates.rotate("front-door")

    assert await runtime.gates.authenticate(old) is None
    assert await runtime.gates.authenticate(new) == "front-door"
    assert not runtime.gates.was_revoked(old)


def test_enrollment_codes_round_trip_and_junk_is_refused() -> None:
    code = enrollment_code("front-door", "s3cr3t")
    assert parse_enrollment_code(code) == ("front-door", "s3cr3t")
    for junk in ("front-door:s3cr3t", "gymgate-gate:1:front-door:", "gymgate-gate:1::x"):
        with pytest.raises(InvalidInput):
            parse_enrollment_code(junk)
