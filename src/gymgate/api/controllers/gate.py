"""The gate: POST /verify, the product's hot path."""

from __future__ import annotations

import time

from litestar import Controller, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody

from gymgate.api.observe import observe_verify
from gymgate.api.responses import errors
from gymgate.api.runtime import Runtime
from gymgate.api.schemas import VerifyRequest, VerifyResponse
from gymgate.clock import to_iso
from gymgate.services.checkin import Decision, check_in

__all__ = ["GateController", "decision_body"]


def decision_body(decision: Decision) -> VerifyResponse:
    """The contract's /verify answer (also printed by `gymgate verify`)."""
    claims = decision.claims
    if decision.allowed and claims is not None:
        return VerifyResponse(
            status="allow",
            pass_id=claims.pass_id,
            user_id=claims.user_id,
            expires_at=to_iso(claims.expires_at),
        )
    return VerifyResponse(
        status="deny",
        reason=decision.reason,
        pass_id=claims.pass_id if claims and decision.used_at else None,
        used_at=to_iso(decision.used_at) if decision.used_at else None,
        used_gate=decision.used_gate,
    )


class GateController(Controller):
    tags = ["gate"]
    security = [{"bearer": []}]  # a gate secret, from `gymgate gates add NAME`

    @post(
        "/verify",
        status_code=200,
        summary="Admit a pass at most once",
        responses=errors(400, 401, 413, 415, 429, 503),
    )
    async def verify(
        self,
        data: JSONBody[VerifyRequest],
        runtime: NamedDependency[Runtime],
        gate_name: NamedDependency[str],
    ) -> Response[VerifyResponse]:
        """Allow or deny (with its reason); every call is audited before it is answered.

        Needs `Authorization: Bearer <gate secret>`; the audit row names the gate that
        secret belongs to.
        """
        token = data.token if isinstance(data.token, str) else None
        started = time.perf_counter()
        decision = await check_in(
            runtime.database,
            runtime.verifier,
            runtime.keys,  # not a snapshot: an unknown kid re-reads keys/ (see keystore)
            runtime.clock,
            token=token or "",
            gate=gate_name,
        )
        observe_verify(gate_name, decision, time.perf_counter() - started)
        if token is None:
            raise ValidationException("token is required and must be a string (the pass token)")
        sweep = BackgroundTask(runtime.sweep_used_passes) if runtime.claim_sweep() else None
        return Response(decision_body(decision), background=sweep)
