"""The gate agent's API: sync state, upload offline decisions, enroll. Gate secret only."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, JSONBody, Parameter

from gymgate.api.gate_schemas import (
    DecisionConflict,
    DecisionRejected,
    DecisionsRequest,
    DecisionsResponse,
    EnrollResponse,
    GateStateResponse,
    OfflineDecisionItem,
    ReboundItem,
    RevokedItem,
    UsedItem,
)
from gymgate.api.responses import errors
from gymgate.api.schemas import Jwk, Jwks
from gymgate.clock import to_iso
from gymgate.runtime import Runtime
from gymgate.services.gate_sync import OfflineDecision, parse_cursor

__all__ = ["GateSyncController"]

log = logging.getLogger("gymgate.gate")
# 500 decisions with tokens of up to 2 KB each: far beyond GYMGATE_MAX_BODY_BYTES.
UPLOAD_MAX_BODY_BYTES = 2 * 1024 * 1024


def _decision(item: OfflineDecisionItem) -> OfflineDecision:
    if (item.result == "deny") != (item.reason is not None):
        raise ValidationException(
            f"decision {item.id}: a deny needs its reason, and an allow has none"
        )
    at = item.at if item.at.tzinfo is not None else item.at.replace(tzinfo=UTC)
    return OfflineDecision(item.id, item.token, at, item.result, item.reason)


class GateSyncController(Controller):
    path = "/gate"
    tags = ["gate"]
    security = [{"bearer": []}]  # the gate's secret

    @get("/state", summary="What a gate needs to decide offline", responses=errors(400, 401, 503))
    async def state(
        self,
        runtime: NamedDependency[Runtime],
        gate_name: NamedDependency[str],
        since: FromQuery[str | None] = None,
        pending: Annotated[
            int, Parameter(ge=0, le=1_000_000_000, description="decisions still to upload")
        ] = 0,
    ) -> GateStateResponse:
        """Public keys, token rules, revoked passes, passes moved to another phone, and
        passes used since `since`.

        Also records that this gate synced, and how many decisions it still holds.
        """
        try:
            parse_cursor(since)
        except ValueError:
            raise ValidationException(
                "since must be a cursor from an earlier /gate/state"
            ) from None
        state = await runtime.gate_sync.state(gate_name, since, pending)
        settings = runtime.settings
        return GateStateResponse(
            gate=gate_name,
            server_time=to_iso(state.server_time),
            server_epoch=state.server_time,
            issuer=settings.issuer,
            leeway_seconds=settings.leeway_seconds,
            max_token_lifetime_seconds=settings.pass_ttl_seconds + settings.leeway_seconds,
            pass_ttl_seconds=settings.pass_ttl_seconds,
            jwks=Jwks(keys=[Jwk(**key) for key in state.jwks["keys"]]),
            revoked=[RevokedItem(e.pass_id, to_iso(e.expires_at)) for e in state.revoked],
            used=[
                UsedItem(e.pass_id, to_iso(e.at), e.gate, to_iso(e.expires_at)) for e in state.used
            ],
            rebound=[ReboundItem(e.pass_id, e.jkt) for e in state.rebound],
            proof_window_seconds=settings.proof_window_seconds,
            cursor=state.cursor,
        )

    @post(
        "/decisions",
        status_code=200,
        summary="Upload offline decisions; each is recorded once",
        responses=errors(400, 401, 413, 415, 503),
        request_max_body_size=UPLOAD_MAX_BODY_BYTES,
    )
    async def decisions(
        self,
        data: JSONBody[DecisionsRequest],
        runtime: NamedDependency[Runtime],
        gate_name: NamedDependency[str],
    ) -> DecisionsResponse:
        """Record the gate's offline decisions (at most 500 a request) in the audit log.

        An allow goes through the same at-most-once admission as /verify: the first use
        stands; a second use or a revoked pass is recorded with its `conflict`. Tokens are
        judged at the scan time `at`. A re-sent id is acknowledged again, never re-recorded.
        """
        records = await runtime.gate_sync.upload(
            gate_name, [_decision(item) for item in data.decisions]
        )
        new_conflicts = [r for r in records if r.new and r.conflict is not None]
        if new_conflicts:
            log.warning("gate %s uploaded %d conflicting admissions", gate_name, len(new_conflicts))
        rejected = [
            DecisionRejected(r.decision_id, r.reason)
            for r, item in zip(records, data.decisions, strict=True)
            if item.result == "allow" and r.result == "deny"
        ]
        return DecisionsResponse(
            acknowledged=[r.decision_id for r in records],
            conflicts=[DecisionConflict(r.decision_id, r.conflict) for r in records if r.conflict],
            rejected=rejected,
        )

    @post(
        "/enroll",
        status_code=200,
        summary="Exchange an enrollment code's secret for the gate's own",
        responses=errors(401, 409, 503),
    )
    async def enroll(
        self, runtime: NamedDependency[Runtime], gate_name: NamedDependency[str]
    ) -> EnrollResponse:
        """Authenticated by the secret of an enrollment code (gymgate-gate:1:NAME:SECRET);
        answers a new secret for the scanner to keep. The code stops working: one use."""
        secret = await runtime.gates.rotate(gate_name)
        return EnrollResponse(gate=gate_name, secret=secret)
