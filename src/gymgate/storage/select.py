"""The one place that decides which backend a database URL means."""

from __future__ import annotations

from gymgate.storage.interface import Backend

__all__ = ["backend_of"]


def backend_of(database_url: str) -> Backend:
    """'sqlite' or 'postgresql', from the URL's scheme (settings validated it)."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"
