"""Second uses let through by offline gates, each beside the first use it collided with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gymgate.models import AuditEvent
from gymgate.storage import Storage

__all__ = ["ConflictPair", "Conflicts"]


@dataclass(frozen=True, slots=True)
class ConflictPair:
    """An offline admission the server found to be a second use (or of a revoked pass),
    and the admission that came first (None for a revoked pass never used)."""

    first: AuditEvent | None
    second: AuditEvent


class Conflicts:
    """Reading conflicts from the audit log."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def since(self, since: datetime | None, limit: int = 500) -> list[ConflictPair]:
        """Newest first: conflicting admissions scanned at or after `since`."""
        query = select(AuditEvent).where(AuditEvent.conflict.is_not(None))
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        async with self._storage.reading() as session:
            seconds = list(await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
            pass_ids = {e.pass_id for e in seconds if e.pass_id is not None}
            firsts = await session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.pass_id.in_(pass_ids),
                    AuditEvent.result == "allow",
                    AuditEvent.conflict.is_(None),
                )
                .order_by(AuditEvent.id)
            )
            first_of: dict[str, AuditEvent] = {}
            for event in firsts:
                first_of.setdefault(event.pass_id or "", event)
        return [ConflictPair(first_of.get(e.pass_id or ""), e) for e in seconds]
