"""What a gate decision leaves behind besides its audit row: a metric and one log line."""

from __future__ import annotations

import structlog

from gymgate.decisions import Decision
from gymgate.metrics import record_verify

__all__ = ["observe_verify"]

log = structlog.get_logger("gymgate.gate")


def observe_verify(gate: str, decision: Decision, seconds: float) -> None:
    """Count and log one decision; the token is never passed here, so it cannot leak."""
    record_verify(decision.result, decision.reason, seconds)
    claims = decision.claims
    log.info(
        "verify",
        gate=gate,
        result=decision.result,
        reason=decision.reason,
        pass_id=claims.pass_id if claims else None,
        duration_ms=round(seconds * 1000, 2),
    )
