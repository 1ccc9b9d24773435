"""Scanner credentials: made, rotated and revoked by an operator; checked on every gate call.

Caching keeps the database off the authentication path; refreshing every few seconds lets
`gymgate gates add/rotate/revoke` take effect on every running server. A miss refreshes at
most once a second, so junk secrets cannot turn into a query per request, and concurrent
requests that find the cache stale share one reload (single flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime

from sqlalchemy import Connection, select, update

from gymgate.clock import Clock, to_datetime
from gymgate.errors import AlreadyExists, GateRevoked, InvalidInput, NotFound, StorageUnavailable
from gymgate.models import Gate
from gymgate.storage import Storage

__all__ = [
    "ENROLLMENT_PREFIX",
    "REVOKED_GATE_DETAIL",
    "Gates",
    "enrollment_code",
    "parse_enrollment_code",
    "secret_digest",
]

# A gate agent matches this to say "this gate was revoked" rather than "wrong gate secret".
REVOKED_GATE_DETAIL = "this gate was revoked: an operator must add or enroll it again"
_GATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ENROLLMENT_PREFIX = "gymgate-gate:1:"


def secret_digest(secret: str) -> str:
    """SHA-256 of a gate secret. Secrets are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def enrollment_code(name: str, secret: str) -> str:
    """One string a scanner can scan or paste: its gate name and a one-time secret."""
    return f"{ENROLLMENT_PREFIX}{name}:{secret}"


def parse_enrollment_code(code: str) -> tuple[str, str]:
    """(name, secret) of an enrollment code; InvalidInput if it is not one."""
    text = code.strip()
    name, _, secret = text.removeprefix(ENROLLMENT_PREFIX).partition(":")
    if not text.startswith(ENROLLMENT_PREFIX) or not _GATE_NAME.fullmatch(name) or not secret:
        raise InvalidInput(f"not an enrollment code: expected {ENROLLMENT_PREFIX}NAME:SECRET")
    return name, secret


class Gates:
    """Gate credentials, and the in-memory cache that authenticates every gate call."""

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
        self._revoked: frozenset[str] = frozenset()  # digests of revoked gates' secrets
        self._loaded_at = float("-inf")
        self._reload_lock = asyncio.Lock()
        self._background_reload: asyncio.Task[None] | None = None
        # gate → its last authenticated call, not yet stored (epoch seconds: cheap per scan)
        self._seen: dict[str, float] = {}

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
            created_at=self._now(),
            pending_uploads=0,
        )
        try:
            async with self._storage.writing() as session:
                session.add(gate)
        except AlreadyExists:
            raise InvalidInput(f"gate {name!r} already exists") from None
        self._invalidate()
        return secret

    async def rotate(self, name: str) -> str:
        """A new secret for the gate; the old one stops working. Shown once."""
        secret = secrets.token_urlsafe(32)
        async with self._storage.writing() as session:
            gate = await session.get(Gate, name)
            if gate is None:
                raise NotFound(f"no gate {name!r}")
            if gate.revoked_at is not None:
                raise GateRevoked(f"gate {name!r} is revoked; add a new gate instead")
            gate.secret_sha256 = secret_digest(secret)
        self._invalidate()
        return secret

    async def revoke(self, name: str) -> Gate:
        """Stop the gate's secret working (on every server within a few seconds)."""
        async with self._storage.writing() as session:
            gate = await session.get(Gate, name)
            if gate is None:
                raise NotFound(f"no gate {name!r}")
            if gate.revoked_at is None:
                gate.revoked_at = self._now()
        self._invalidate()
        return gate

    async def record_sync(self, name: str, pending_uploads: int) -> None:
        """Note that the gate synced just now, with this many decisions left to upload."""
        now = self._now()
        async with self._storage.writing() as session:
            await session.execute(
                update(Gate)
                .where(Gate.name == name)
                .values(last_sync_at=now, last_seen_at=now, pending_uploads=pending_uploads)
            )

    async def list(self) -> list[Gate]:
        """Every gate, revoked ones too, with what servers have seen of it."""
        await self._store_seen()
        async with self._storage.reading() as session:
            return list(await session.scalars(select(Gate).order_by(Gate.name)))

    async def authenticate(self, secret: str) -> str | None:
        """The name of the (not revoked) gate the secret belongs to, or None."""
        digest = secret_digest(secret)
        if self._loaded_at == float("-inf"):  # never loaded, or changed by this process
            await self._refresh_if_older(self._refresh)
        elif time.monotonic() - self._loaded_at >= self._refresh:
            self._reload_in_background()
        name = self._match(digest)
        if name is None:
            await self._refresh_if_older(self._miss_refresh)
            name = self._match(digest)
        if name is not None:
            self._seen[name] = self._clock.now()
        return name

    def was_revoked(self, secret: str) -> bool:
        """Whether the secret belonged to a gate that was revoked (as of the last reload):
        so its agent can say why it is refused instead of "wrong secret"."""
        return secret_digest(secret) in self._revoked

    def _match(self, digest: str) -> str | None:
        found = None
        for known, name in self._by_digest.items():
            # Compare against every gate, not stopping early: timing says nothing.
            if hmac.compare_digest(known, digest):
                found = name
        return found

    def _reload_in_background(self) -> None:
        """Reload while this scan goes on with what is known: a scan never waits for the
        periodic reload (a read, and the last-seen write), only for an unknown secret. A
        gate revoked on another server is refused from the reload after next, a few seconds."""
        if self._background_reload is None or self._background_reload.done():
            self._background_reload = asyncio.create_task(self._reload_quietly())

    async def _reload_quietly(self) -> None:
        # The cache stays as it was when the database is down; the scans themselves say so.
        with contextlib.suppress(StorageUnavailable):
            await self._refresh_if_older(self._refresh)

    async def _refresh_if_older(self, max_age: float) -> None:
        if time.monotonic() - self._loaded_at < max_age:
            return
        async with self._reload_lock:
            if time.monotonic() - self._loaded_at < max_age:
                return  # another request reloaded while this one waited
            await self._reload()

    async def _reload(self) -> None:
        await self._store_seen()
        async with self._storage.reading() as session:
            rows = list(
                await session.execute(select(Gate.secret_sha256, Gate.name, Gate.revoked_at))
            )
        self._by_digest = {digest: name for digest, name, revoked in rows if revoked is None}
        self._revoked = frozenset(digest for digest, _, revoked in rows if revoked is not None)
        self._loaded_at = time.monotonic()

    async def _store_seen(self) -> None:
        """Write the gates' last-seen times (at most once per reload); best effort."""
        seen, self._seen = self._seen, {}
        if not seen:
            return

        def store(connection: Connection) -> None:
            for name, at in seen.items():
                connection.execute(
                    update(Gate).where(Gate.name == name).values(last_seen_at=to_datetime(at))
                )

        # Only a freshness hint for the operator page: never fail a scan for it. In one step
        # on SQLite's writer: the write lock is never held across an await of this loop.
        with contextlib.suppress(StorageUnavailable):
            await self._storage.write(store)

    def _invalidate(self) -> None:
        self._loaded_at = float("-inf")

    def _now(self) -> datetime:
        return to_datetime(self._clock.now())
