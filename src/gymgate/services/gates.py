"""Scanner credentials: created by an operator, checked on every /verify in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import Clock, to_datetime
from gymgate.errors import InvalidInput
from gymgate.models import Gate

__all__ = ["GateRegistry", "add_gate", "list_gates", "load_gate_hashes", "secret_digest"]

_GATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def secret_digest(secret: str) -> str:
    """SHA-256 of a gate secret. Secrets are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


async def add_gate(session: AsyncSession, clock: Clock, name: str) -> str:
    """Create a gate and return its secret; only its digest is stored, so show it once."""
    if not _GATE_NAME.fullmatch(name):
        raise InvalidInput(
            "gate name must be 1-64 letters, digits, '.', '_' or '-', e.g. front-door"
        )
    secret = secrets.token_urlsafe(32)
    session.add(
        Gate(name=name, secret_sha256=secret_digest(secret), created_at=to_datetime(clock.now()))
    )
    try:
        await session.commit()
    except IntegrityError:
        raise InvalidInput(f"gate {name!r} already exists") from None
    return secret


async def list_gates(session: AsyncSession) -> list[Gate]:
    return list(await session.scalars(select(Gate).order_by(Gate.name)))


async def load_gate_hashes(session: AsyncSession) -> dict[str, str]:
    """Gate name by secret digest."""
    rows = await session.execute(select(Gate.secret_sha256, Gate.name))
    return {digest: name for digest, name in rows}


class GateRegistry:
    """Gate credentials cached in memory, refreshed every few seconds and on an unknown secret.

    Caching keeps the database off the authentication path; refreshing lets `gymgate gates
    add` take effect on a running server. A miss refreshes at most once a second, so junk
    secrets cannot turn into a query per request.
    """

    def __init__(
        self,
        load: Callable[[], Awaitable[dict[str, str]]],
        refresh_seconds: float = 5.0,
        miss_refresh_seconds: float = 1.0,
    ) -> None:
        self._load = load
        self._refresh = refresh_seconds
        self._miss_refresh = miss_refresh_seconds
        self._by_digest: dict[str, str] = {}
        self._loaded_at = float("-inf")

    async def authenticate(self, secret: str) -> str | None:
        """The gate name the secret belongs to, or None."""
        digest = secret_digest(secret)
        age = time.monotonic() - self._loaded_at
        if age >= self._refresh:
            await self._reload()
        name = self._match(digest)
        if name is None and self._refresh > age >= self._miss_refresh:
            await self._reload()
            name = self._match(digest)
        return name

    def _match(self, digest: str) -> str | None:
        found = None
        for known, name in self._by_digest.items():
            # Compare against every gate, not stopping early: timing says nothing.
            if hmac.compare_digest(known, digest):
                found = name
        return found

    async def _reload(self) -> None:
        self._by_digest = await self._load()
        self._loaded_at = time.monotonic()
