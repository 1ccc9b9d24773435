"""Per-payment pseudonyms of members, so a public answer never links an email to a member.

`POST /create_payment` accepts any email, so its answer must not say which member an email
belongs to: the `user_id` it shows is HMAC-SHA256(server secret, user id | payment id),
stable for one payment (GET /payments/{id} shows the same) and different for every payment,
so two payments with one email cannot be linked by it either. The server secret is random,
kept in the database so every server sharing it agrees, made by the first server to need it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select

from gymgate.models import ServerSecret
from gymgate.storage import Storage

__all__ = ["Pseudonyms"]

SECRET_NAME = "member-pseudonyms"  # noqa: S105  # the row's name, not a secret
PREFIX = "mbr_"


class Pseudonyms:
    """Turns (user id, payment id) into the opaque id a payment's public answer shows."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._key: bytes | None = None

    async def of(self, user_id: str, payment_id: str) -> str:
        """The pseudonym of this member for this payment (16 URL-safe characters)."""
        key = self._key or await self._load_key()
        digest = hmac.new(key, f"{user_id}|{payment_id}".encode(), hashlib.sha256).digest()
        return PREFIX + base64.urlsafe_b64encode(digest[:12]).decode()

    async def _load_key(self) -> bytes:
        """Read the shared secret, making it first if no server has (the first insert wins)."""
        async with self._storage.writing() as session:
            make = self._storage.insert(
                ServerSecret, name=SECRET_NAME, value=secrets.token_hex(32)
            ).on_conflict_do_nothing(index_elements=["name"])
            await session.execute(make)
            value = await session.scalar(
                select(ServerSecret.value).where(ServerSecret.name == SECRET_NAME)
            )
        assert value is not None  # just inserted or already there
        self._key = bytes.fromhex(value)
        return self._key
