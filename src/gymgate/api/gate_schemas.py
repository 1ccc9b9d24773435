"""Bodies of the gate sync API and the operator's gate views (msgspec Structs, in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from gymgate.api.schemas import Jwks
from gymgate.vocabulary import Conflict, DecisionMode, DenyReason, Result

__all__ = [
    "ConflictItem",
    "ConflictListResponse",
    "ConflictScan",
    "CreateGateRequest",
    "DecisionConflict",
    "DecisionRejected",
    "DecisionsRequest",
    "DecisionsResponse",
    "EnrollResponse",
    "FirstScan",
    "GateCredentialResponse",
    "GateItem",
    "GateListResponse",
    "GateStateResponse",
    "OfflineDecisionItem",
    "ReboundItem",
    "RevokedItem",
    "UsedItem",
]

MAX_DECISIONS_PER_UPLOAD = 500
Timestamp = Annotated[str, Meta(description="ISO 8601, UTC", examples=["2026-11-25T18:04:00Z"])]
GateName = Annotated[str, Meta(min_length=1, max_length=64, examples=["front-door"])]


class RevokedItem(Struct):
    pass_id: str
    expires_at: Timestamp


class ReboundItem(Struct):
    pass_id: str
    jkt: Annotated[str, Meta(description="thumbprint of the phone key the pass is bound to now")]


class UsedItem(Struct):
    pass_id: str
    at: Timestamp
    gate: str | None
    expires_at: Timestamp


class GateStateResponse(Struct):
    gate: GateName
    server_time: Timestamp
    server_epoch: Annotated[float, Meta(description="the server's clock, seconds since epoch")]
    issuer: str
    leeway_seconds: int
    max_token_lifetime_seconds: Annotated[
        int, Meta(description="longest exp - iat a pass may have (pass lifetime + leeway)")
    ]
    pass_ttl_seconds: int
    jwks: Jwks
    revoked: Annotated[list[RevokedItem], Meta(description="revoked passes still unexpired")]
    used: Annotated[list[UsedItem], Meta(description="passes used since the cursor (with overlap)")]
    rebound: Annotated[
        list[ReboundItem],
        Meta(
            description="passes moved to another phone, still unexpired (every sync): a bound "
            "code whose cnf key has another thumbprint is denied revoked"
        ),
    ]
    proof_window_seconds: Annotated[
        int, Meta(description="how far a bound pass's proof time may be from now, either way")
    ]
    cursor: Annotated[str, Meta(description="opaque: send as ?since= on the next sync")]


class OfflineDecisionItem(Struct):
    id: Annotated[
        str,
        Meta(
            pattern="^[A-Za-z0-9_-]{8,64}$",
            description="the gate's own id for this decision; a re-sent id is recorded once",
        ),
    ]
    token: Annotated[str, Meta(max_length=4096)]
    at: Annotated[datetime, Meta(description="the gate's scan time, ISO 8601")]
    result: Result
    reason: DenyReason | None = None


class DecisionsRequest(Struct):
    decisions: Annotated[list[OfflineDecisionItem], Meta(max_length=MAX_DECISIONS_PER_UPLOAD)]


class DecisionConflict(Struct):
    id: str
    conflict: Conflict


class DecisionRejected(Struct):
    id: str
    reason: Annotated[
        DenyReason | None,
        Meta(description="an offline allow of a token that fails verification at its scan time"),
    ]


class DecisionsResponse(Struct):
    acknowledged: Annotated[list[str], Meta(description="ids recorded, now or before")]
    conflicts: list[DecisionConflict]
    rejected: list[DecisionRejected]


class EnrollResponse(Struct):
    gate: GateName
    secret: Annotated[str, Meta(description="the gate's new secret; the enrollment code is spent")]


class GateItem(Struct):
    name: GateName
    created_at: Timestamp
    revoked_at: Timestamp | None
    last_sync_at: Timestamp | None
    last_seen_at: Timestamp | None
    pending_uploads: int
    online: Annotated[bool, Meta(description="synced or verified within the last 2 minutes")]


class GateListResponse(Struct):
    items: list[GateItem]


class CreateGateRequest(Struct):
    name: GateName


class GateCredentialResponse(Struct):
    name: GateName
    secret: str
    enrollment_code: Annotated[
        str, Meta(description="gymgate-gate:1:NAME:SECRET, to scan or paste at the scanner")
    ]


class FirstScan(Struct):
    at: Timestamp
    gate: str
    mode: DecisionMode


class ConflictScan(Struct):
    at: Timestamp
    gate: str
    mode: DecisionMode
    conflict: Conflict


class ConflictItem(Struct):
    pass_id: str | None
    user_id: str | None
    first: Annotated[FirstScan | None, Meta(description="null for a revoked, never used pass")]
    second: ConflictScan


class ConflictListResponse(Struct):
    items: list[ConflictItem]
