"""One sync round: upload what the gate decided offline, then take the server's state."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gymgate.binding import DEFAULT_PROOF_WINDOW_SECONDS
from gymgate.clock import to_iso
from gymgate.gate.client import GateClient
from gymgate.gate.store import LocalStore, PendingDecision, SyncedRules

__all__ = ["UPLOAD_BATCH", "SyncResult", "sync_round"]

# Decisions per request: well under the server's 500, and a few hundred KB at most.
UPLOAD_BATCH = 200


@dataclass(frozen=True, slots=True)
class SyncResult:
    uploaded: int
    conflicts: int
    rejected: int
    remaining: int


async def sync_round(client: GateClient, store: LocalStore) -> SyncResult:
    """Upload every pending decision (batch by batch, each acknowledged before it is
    forgotten), then fetch keys, rules, revocations, moved passes and uses. Client errors
    propagate."""
    uploaded = conflicts = rejected = 0
    while batch := store.pending(UPLOAD_BATCH):
        answer = await client.upload([_wire(d) for d in batch])
        store.acknowledge(answer["acknowledged"])
        uploaded += len(answer["acknowledged"])
        conflicts += len(answer["conflicts"])
        rejected += len(answer.get("rejected", []))
        if not answer["acknowledged"]:
            break  # nothing moved: do not loop on it
    previous = store.rules()
    started = time.time()
    since = previous.cursor if previous else None
    state = await client.state(since, store.pending_count())
    finished = time.time()
    store.apply_state(
        _rules(state, finished, state["server_epoch"] - (started + finished) / 2),
        _revoked(state),
        _used(state),
        _rebound(state),
    )
    return SyncResult(uploaded, conflicts, rejected, store.pending_count())


def _wire(decision: PendingDecision) -> dict[str, Any]:
    return {
        "id": decision.id,
        "token": decision.token,
        "at": to_iso(decision.at),
        "result": decision.result,
        "reason": decision.reason,
    }


def _rules(state: dict[str, Any], synced_at: float, offset: float) -> SyncedRules:
    return SyncedRules(
        gate=state["gate"],
        issuer=state["issuer"],
        leeway_seconds=int(state["leeway_seconds"]),
        pass_ttl_seconds=int(state["pass_ttl_seconds"]),
        jwks=state["jwks"],
        synced_at=synced_at,
        clock_offset=offset,
        cursor=state["cursor"],
        proof_window_seconds=int(
            state.get("proof_window_seconds", DEFAULT_PROOF_WINDOW_SECONDS)  # an older server
        ),
    )


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _revoked(state: dict[str, Any]) -> list[tuple[str, int]]:
    return [(r["pass_id"], int(_epoch(r["expires_at"]))) for r in state["revoked"]]


def _used(state: dict[str, Any]) -> list[tuple[str, float, str | None, int]]:
    return [
        (u["pass_id"], _epoch(u["at"]), u["gate"], int(_epoch(u["expires_at"])))
        for u in state["used"]
    ]


def _rebound(state: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["pass_id"], r["jkt"]) for r in state.get("rebound", [])]
