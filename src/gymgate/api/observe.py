"""What a gate decision leaves behind besides its audit row: a metric and one log line."""

from __future__ import annotations

import logging

from gymgate.decisions import Decision
from gymgate.metrics import record_verify

__all__ = ["observe_verify"]

# A plain stdlib logger: its line is rendered by gymgate.logs.FlatJsonFormatter, in the
# shape of every other line, without structlog's processor chain (10 % of a /verify).
log = logging.getLogger("gymgate.gate")


def observe_verify(gate: str, decision: Decision, seconds: float) -> None:
    """Count and log one decision; the token is never passed here, so it cannot leak."""
    record_verify(decision.result, decision.reason, seconds)
    if not log.isEnabledFor(logging.INFO):
        return
    claims = decision.claims
    fields = {
        "gate": gate,
        "result": decision.result,
        "reason": decision.reason,
        "pass_id": claims.pass_id if claims else None,
        "duration_ms": round(seconds * 1000, 2),
    }
    log.info("verify", extra={"fields": fields})
