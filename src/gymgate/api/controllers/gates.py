"""Operator views of gate credentials: list, add, revoke, rotate, conflicts. Admin token only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from gymgate.api.auth import require_admin
from gymgate.api.gate_schemas import (
    ConflictItem,
    ConflictListResponse,
    ConflictScan,
    CreateGateRequest,
    FirstScan,
    GateCredentialResponse,
    GateItem,
    GateListResponse,
)
from gymgate.api.responses import errors
from gymgate.clock import to_datetime, to_iso
from gymgate.models import Gate
from gymgate.runtime import Runtime
from gymgate.services.conflicts import ConflictPair
from gymgate.services.gates import enrollment_code

__all__ = ["GatesController"]

ONLINE_WITHIN = timedelta(minutes=2)


def _iso(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def _item(gate: Gate, now: datetime) -> GateItem:
    recent = [t for t in (gate.last_sync_at, gate.last_seen_at) if t is not None]
    return GateItem(
        name=gate.name,
        created_at=to_iso(gate.created_at),
        revoked_at=_iso(gate.revoked_at),
        last_sync_at=_iso(gate.last_sync_at),
        last_seen_at=_iso(gate.last_seen_at),
        pending_uploads=gate.pending_uploads,
        online=gate.revoked_at is None and any(now - t <= ONLINE_WITHIN for t in recent),
    )


def _conflict(pair: ConflictPair) -> ConflictItem:
    first, second = pair.first, pair.second
    assert second.conflict is not None
    return ConflictItem(
        pass_id=second.pass_id,
        user_id=second.user_id,
        first=FirstScan(to_iso(first.at), first.gate, first.mode) if first else None,
        second=ConflictScan(to_iso(second.at), second.gate, second.mode, second.conflict),
    )


class GatesController(Controller):
    path = "/gates"
    tags = ["operator"]
    guards = [require_admin]
    security = [{"bearer": []}]

    @get("/", summary="Gate credentials and whether they are online", responses=errors(401, 403))
    async def list_gates(self, runtime: NamedDependency[Runtime]) -> GateListResponse:
        """Every gate: created, revoked, last sync, decisions it still holds, online now."""
        now = to_datetime(runtime.clock.now())
        return GateListResponse(items=[_item(g, now) for g in await runtime.gates.list()])

    @post("/", status_code=201, summary="Create a gate credential", responses=errors(400, 401, 403))
    async def add(
        self, data: JSONBody[CreateGateRequest], runtime: NamedDependency[Runtime]
    ) -> GateCredentialResponse:
        """The secret is shown only now; the enrollment code carries it for a scanner."""
        secret = await runtime.gates.add(data.name)
        return GateCredentialResponse(data.name, secret, enrollment_code(data.name, secret))

    @post(
        "/{name:str}/revoke",
        status_code=200,
        summary="Revoke a gate credential",
        responses=errors(401, 403, 404),
    )
    async def revoke(self, name: FromPath[str], runtime: NamedDependency[Runtime]) -> GateItem:
        """Its secret stops working on every server within a few seconds."""
        gate = await runtime.gates.revoke(name)
        return _item(gate, to_datetime(runtime.clock.now()))

    @post(
        "/{name:str}/rotate",
        status_code=200,
        summary="Give a gate a new secret",
        responses=errors(401, 403, 404, 409),
    )
    async def rotate(
        self, name: FromPath[str], runtime: NamedDependency[Runtime]
    ) -> GateCredentialResponse:
        """The old secret stops working; the new one is shown only now."""
        secret = await runtime.gates.rotate(name)
        return GateCredentialResponse(name, secret, enrollment_code(name, secret))

    @get(
        "/conflicts",
        summary="Second uses let through by offline gates",
        responses=errors(400, 401, 403),
    )
    async def conflicts(
        self, runtime: NamedDependency[Runtime], since: FromQuery[datetime | None] = None
    ) -> ConflictListResponse:
        """Each conflicting offline admission beside the first use of the same pass."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        pairs = await runtime.conflicts.since(since)
        return ConflictListResponse(items=[_conflict(p) for p in pairs])
