"""The gate: POST /verify, the product's hot path."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody

from gymgate.api.observe import decide
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
        secret belongs to. A well-formed request is answered by the gate's lane
        (api/gate_lane.py) with the same steps; this route answers the rest.
        """
        token = data.token if isinstance(data.token, str) else None
        decision = await decide(runtime, token or "", gate_name)
        if token is None:
            raise ValidationException("token is required and must be a string (the pass token)")
        sweep = BackgroundTask(runtime.sweeper.sweep_if_due)
        return Response(decision_body(decision), background=sweep)
