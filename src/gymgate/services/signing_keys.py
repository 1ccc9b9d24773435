"""The operator's key actions from the API: rotate, retire; the same KeyStore the CLI uses."""

from __future__ import annotations

import anyio.to_thread

from gymgate.clock import Clock
from gymgate.errors import KeyConflict, NotFound
from gymgate.keystore import KeyEntry, KeyStore, ReloadingKeySet

__all__ = ["SigningKeys"]


class SigningKeys:
    """Rotating and retiring signing keys; this server sees the change at once, others
    within their reload interval (as after `gymgate keys rotate`)."""

    def __init__(self, store: KeyStore, keys: ReloadingKeySet, clock: Clock) -> None:
        self._store = store
        self._keys = keys
        self._clock = clock

    def list(self) -> tuple[KeyEntry, ...]:
        return self._keys.current().entries

    async def rotate(self) -> KeyEntry:
        """A new active key; the previous one only verifies from now on."""
        kid = await anyio.to_thread.run_sync(self._store.rotate, self._clock)
        return self._entry(kid)

    async def retire(self, kid: str) -> KeyEntry:
        """Stop accepting tokens signed by kid (passes it signed are denied unknown_key)."""
        entry = self._entry(kid)
        if entry.status == "active":
            raise KeyConflict(f"{kid} is the active signing key: rotate first, then retire it")
        if entry.status != "retired":
            await anyio.to_thread.run_sync(self._store.retire, kid)
        return self._entry(kid)

    def _entry(self, kid: str) -> KeyEntry:
        entry = next((e for e in self._keys.refresh().entries if e.kid == kid), None)
        if entry is None:
            raise NotFound(f"no signing key {kid!r}")
        return entry
