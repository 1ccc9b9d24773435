"""What a gate decision leaves behind besides its audit row: a metric and one log line."""

from __future__ import annotations

import logging
import time

from gymgate.decisions import Decision
from gymgate.metrics import record_verify
from gymgate.request_lines import write_line
from gymgate.runtime import Runtime

__all__ = ["decide", "observe_verify"]

# Its line is written by gymgate.request_lines, in the shape of every other line.
log = logging.getLogger("gymgate.gate")


def observe_verify(gate: str, decision: Decision, seconds: float) -> None:
    """Count and log one decision; the token is never passed here, so it cannot leak."""
    record_verify(decision.result, decision.reason, seconds)
    claims = decision.claims
    fields = {
        "gate": gate,
        "result": decision.result,
        "reason": decision.reason,
        "pass_id": claims.pass_id if claims else None,
        "duration_ms": round(seconds * 1000, 2),
    }
    write_line(log, "verify", fields)


async def decide(runtime: Runtime, token: str, gate: str) -> Decision:
    """Check one scan in at `gate`, counted, timed and logged: /verify's work, wherever it
    is answered (the route or the gate's lane)."""
    started = time.perf_counter()
    decision = await runtime.check_in(token, gate)
    observe_verify(gate, decision, time.perf_counter() - started)
    return decision
