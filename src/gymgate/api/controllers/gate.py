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
from gymgate.api.schemas import VerifyRequest, VerifyResponse
from gymgate.decisions import decision_body
from gymgate.runtime import Runtime

__all__ = ["GateController"]


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
        decision = await runtime.check_in(token or "", gate_name)
        observe_verify(gate_name, decision, time.perf_counter() - started)
        if token is None:
            raise ValidationException("token is required and must be a string (the pass token)")
        sweeper = runtime.sweeper
        sweep = BackgroundTask(sweeper.sweep) if sweeper.claim() else None
        return Response(decision_body(decision), background=sweep)
