"""Who a pass belongs to, as the gate may say it: the member's first name only, cached so an
admitted scan costs at most one small read after its admission transaction."""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import select

from gymgate.errors import StorageUnavailable
from gymgate.models import User
from gymgate.storage import Storage

__all__ = ["HolderNames", "first_name"]


def first_name(name: str | None) -> str | None:
    """The first word of a member's name, or None when they gave none."""
    words = (name or "").split()
    return words[0][:64] if words else None


class HolderNames:
    """First names by user id, remembered for the most recent `size` members."""

    def __init__(self, storage: Storage, size: int = 4096) -> None:
        self._storage = storage
        self._size = size
        self._names: OrderedDict[str, str | None] = OrderedDict()

    async def first_name(self, user_id: str) -> str | None:
        """The member's first name; None if unknown, nameless, or the database is away
        (the scan was already decided: a missing name never turns it into an error)."""
        if user_id in self._names:
            self._names.move_to_end(user_id)
            return self._names[user_id]
        try:
            async with self._storage.reading() as session:
                name = await session.scalar(select(User.name).where(User.id == user_id))
        except StorageUnavailable:
            return None
        self._names[user_id] = found = first_name(name)
        if len(self._names) > self._size:
            self._names.popitem(last=False)
        return found
