"""Scanner credentials: created by an operator, checked on every /verify in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from sqlalchemy import select

from gymgate.clock import Clock, to_datetime
from gymgate.errors import AlreadyExists, InvalidInput
from gymgate.models import Gate
from gymgate.storage import Storage

__all__ = ["Gates", "secret_digest"]

_GATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def secret_digest(secret: str) -> str:
    """SHA-256 of a gate secret. Secrets are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


class Gates:
    """Gate credentials: made here, and cached in memory to authenticate every scan.

    Caching keeps the database off the authentication path; refreshing every few seconds
    lets `gymgate gates add` take effect on a running server. A miss refreshes at most once a
    second, so junk secrets cannot turn into a query per request.
    """

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        refresh_seconds: float = 5.0,
        miss_refresh_seconds: float = 1.0,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._refresh = refresh_seconds
        self._miss_refresh = miss_refresh_seconds
        self._by_digest: dict[str, str] = {}
        self._loaded_at = float("-inf")

    async def add(self, name: str) -> str:
        """Create a gate and return its secret; only its digest is stored, so show it once."""
        if not _GATE_NAME.fullmatch(name):
            raise InvalidInput(
                "gate name must be 1-64 letters, digits, '.', '_' or '-', e.g. front-door"
            )
        secret = secrets.token_urlsafe(32)
        gate = Gate(
            name=name,
            secret_sha256=secret_digest(secret),
            created_at=to_datetime(self._clock.now()),
        )
        try:
            async with self._storage.writing() as session:
                session.add(gate)
        except AlreadyExists:
            raise InvalidInput(f"gate {name!r} already exists") from None
        return secret

    async def list(self) -> list[Gate]:
        async with self._storage.reading() as session:
            return list(await session.scalars(select(Gate).order_by(Gate.name)))

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
        async with self._storage.reading() as session:
            rows = await session.execute(select(Gate.secret_sha256, Gate.name))
            self._by_digest = {digest: name for digest, name in rows}
        self._loaded_at = time.monotonic()
