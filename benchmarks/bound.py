"""B: passes bound to a phone: the QR version of their code, and what the proof costs.

The cost is measured in the in-process verify pipeline (M1's call, `Runtime.check_in`, on
SQLite): a plain pass, then a bound one (token~ts~sig, its own Ed25519 phone key), then one
raw Ed25519 verify (F1's call), in turn, each timed on its own. The issue's target is "at
most one Ed25519 verify more per decision": plain/bound <= 1 + plain/verify.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from testkit.phones import Curve, Phone

from benchmarks.workspace import GATE, Workspace
from gymgate.binding import device_key
from gymgate.ids import new_id
from gymgate.qr import qr_version
from gymgate.runtime import Runtime
from gymgate.settings import Settings

__all__ = ["BoundFigures", "measure"]

WARMUP = 200
# Codes per pipeline run: more than the pipeline decides in a few seconds.
CODES = 30_000


@dataclass(frozen=True, slots=True)
class BoundFigures:
    qr_version_ed25519: int
    qr_version_p256: int
    plain_per_s: float
    bound_per_s: float
    verify_per_s: float  # raw Ed25519 verifies, timed between the decisions


def bound_codes(workspace: Workspace, count: int, curve: Curve = "Ed25519") -> list[str]:
    """`count` new passes, each bound to its own phone and shown with a proof made now."""
    now = int(time.time())
    codes = []
    for _ in range(count):
        phone, pass_id = Phone(curve), new_id()
        token = workspace.issue(pass_id, now, device_key(phone.jwk))
        codes.append(phone.show(token, pass_id, now))
    return codes


def measure(workspace: Workspace, seconds: float, codes: int = CODES) -> BoundFigures:
    """QR versions, then plain and bound decisions interleaved in one pipeline run."""
    ed25519, p256 = bound_codes(workspace, 1)[0], bound_codes(workspace, 1, "P-256")[0]
    plain = [token for _, token in workspace.new_tokens(codes)]
    bound = bound_codes(workspace, codes)  # made just before the run: proofs are fresh
    url = workspace.fresh_sqlite("b")
    rates = asyncio.run(_interleaved(workspace.settings(url), plain, bound, seconds))
    return BoundFigures(qr_version(ed25519), qr_version(p256), *rates)


async def _interleaved(
    settings: Settings, plain: list[str], bound: list[str], seconds: float
) -> tuple[float, float, float]:
    """Decisions/s on plain and on bound passes, and raw Ed25519 verifies/s (F1's call),
    taken in turn one after the other: a busy machine slows all three alike, which two
    runs minutes apart would not promise."""
    phone = Phone(seed=1)
    public_key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(phone.jwk["x"] + "="))
    message = b"gymgate-proof.bench.0"
    signature = phone.sign(message)
    spent = [0.0, 0.0, 0.0]
    async with Runtime.open(settings) as runtime:

        async def decide(code: str, kind: int) -> None:
            started = time.perf_counter()
            decision = await runtime.check_in(code, GATE)
            spent[kind] += time.perf_counter() - started
            assert decision.allowed, f"B pass denied: {decision.reason}"

        for i in range(WARMUP):
            await decide(plain[i], 0)
            await decide(bound[i], 1)
        spent = [0.0, 0.0, 0.0]
        done, deadline = 0, time.perf_counter() + 2 * seconds
        while time.perf_counter() < deadline and WARMUP + done < len(bound):
            await decide(plain[WARMUP + done], 0)
            await decide(bound[WARMUP + done], 1)
            started = time.perf_counter()
            public_key.verify(signature, message)
            spent[2] += time.perf_counter() - started
            done += 1
    plain_rate, bound_rate, verify_rate = (done / each for each in spent)
    return plain_rate, bound_rate, verify_rate
