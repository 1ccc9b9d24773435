"""Request and response bodies of the HTTP API (msgspec Structs, documented in OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from gymgate.decisions import DecisionBody
from gymgate.vocabulary import (
    BindingMode,
    Conflict,
    DecisionMode,
    DenyReason,
    KeyStatus,
    PassState,
    PaymentStatus,
    QrFormat,
    Result,
    Wallet,
    WebhookOutcome,
)

__all__ = [
    "AuditItem",
    "AuditPageResponse",
    "AuditSummaryResponse",
    "CreatePaymentRequest",
    "EntryItem",
    "EntryPageResponse",
    "ErrorResponse",
    "FoundPaymentItem",
    "FoundPaymentsResponse",
    "GenerateQrRequest",
    "GenerateQrResponse",
    "HealthResponse",
    "InfoResponse",
    "Jwk",
    "Jwks",
    "KeyInfo",
    "KeyListResponse",
    "LinkedPassResponse",
    "OpenLinkRequest",
    "PassStatusResponse",
    "PaymentResponse",
    "ReadyResponse",
    "ResendRequest",
    "ResendResponse",
    "SeriesBucket",
    "SeriesResponse",
    "VerifyRequest",
    "VerifyResponse",
    "WalletPassRequest",
    "WalletSaveLinkResponse",
    "WebhookResponse",
]

Id = Annotated[str, Meta(min_length=1, max_length=64, examples=["pay_3q2Y0lX9c1mZbQ8e"])]
Timestamp = Annotated[str, Meta(description="ISO 8601, UTC", examples=["2026-11-25T18:04:00Z"])]


class CreatePaymentRequest(Struct):
    email: Annotated[str, Meta(max_length=254, examples=["ana@example.com"])]
    name: Annotated[str, Meta(max_length=200, examples=["Ana"])] | None = None
    simulate: (
        Annotated[
            Literal["completed", "failed", "pending"],  # what the mock provider can answer
            Meta(description="outcome the mock provider gives (default completed)"),
        ]
        | None
    ) = None


class PaymentResponse(Struct, omit_defaults=True):
    payment_id: Id
    user_id: Id
    status: PaymentStatus
    amount_cents: int
    currency: str
    created_at: Timestamp
    checkout_url: str | None = None


# A phone's public key, read by gymgate.binding (a dict here: a Struct would drop members
# such as a private key's "d" silently instead of refusing them).
DeviceJwk = Annotated[
    dict[str, Any],
    Meta(
        description="the member's phone's PUBLIC key as a JWK: "
        '{"kty":"OKP","crv":"Ed25519","x"} or {"kty":"EC","crv":"P-256","x","y"} '
        "(WebCrypto's ext and key_ops are ignored). Required when /info says "
        'pass_binding "device", refused when "none"',
        examples=[
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ],
    ),
]
Jkt = Annotated[
    str,
    Meta(description="RFC 7638 SHA-256 thumbprint of the phone key the pass is bound to"),
]
ServerTime = Annotated[
    float,
    Meta(
        description="the server's clock (Unix seconds) when it answered: a phone corrects "
        "its own by it when it stamps a proof"
    ),
]
PassQr = Annotated[
    str,
    Meta(
        description="data:image/png;base64,… of the QR; null for a pass bound to a phone "
        "(its page draws the code with a fresh proof, token~time~signature)"
    ),
]


class GenerateQrRequest(Struct):
    payment_id: Id
    format: Annotated[
        QrFormat,
        Meta(description="json (token + data URL), or a bare png / svg image (plain passes only)"),
    ] = "json"
    device_key: DeviceJwk | None = None


class GenerateQrResponse(Struct):
    token: Annotated[str, Meta(description="compact EdDSA JWT (with a cnf claim when bound)")]
    pass_id: Id
    expires_at: Timestamp
    qr: PassQr | None
    server_time: ServerTime
    jkt: Jkt | None


class PassStatusResponse(Struct, omit_defaults=True):
    pass_id: Id
    status: PassState
    expires_at: Timestamp
    jkt: Annotated[
        str | None,
        Meta(
            description="thumbprint of the phone the pass is bound to now (null: a plain "
            "pass); a phone holding another key knows the pass moved"
        ),
    ]
    used_at: Timestamp | None = None
    used_gate: str | None = None


class VerifyRequest(Struct):
    # Any, not str: a token of the wrong type is still an attempt, audited before the 400.
    token: Annotated[
        Any,
        Meta(
            description="what was scanned (a string): a pass token, or a bound pass's "
            "token~time~signature",
            examples=["eyJhbGciOi..."],
        ),
    ] = None
    gate: (
        Annotated[str, Meta(max_length=64, description="informational; the secret names the gate")]
        | None
    ) = None


# The decision body is the domain's (gymgate verify prints the same JSON).
VerifyResponse = DecisionBody


class Jwk(Struct):
    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str


class Jwks(Struct):
    keys: list[Jwk]


class AuditItem(Struct):
    id: int
    at: Timestamp
    gate: str
    result: Result
    reason: DenyReason | None
    pass_id: str | None
    user_id: str | None
    mode: Annotated[
        DecisionMode,
        Meta(description="online: the server decided; offline: a gate did, uploaded later"),
    ] = "online"
    conflict: Annotated[
        Conflict | None,
        Meta(description="for an offline allow the server found to be a second use or revoked"),
    ] = None


class AuditPageResponse(Struct):
    items: list[AuditItem]
    next_before: Annotated[
        int | None, Meta(description="pass as ?before= for the next, older page")
    ]


class AuditSummaryResponse(Struct):
    total: int
    by_result: dict[str, int]
    by_reason: dict[str, int]
    by_gate: Annotated[dict[str, int], Meta(description="attempts per gate name in the range")] = {}
    conflicts: Annotated[
        int,
        Meta(description="double entries: offline allows found to be a second use or revoked"),
    ] = 0


class EntryItem(Struct):
    id: int
    at: Timestamp
    gate: str
    pass_id: str | None
    user_id: str | None
    name: Annotated[str | None, Meta(description="the member's name, if they gave one")]
    email: Annotated[str | None, Meta(description="the member's email (null: not our pass)")]
    mode: DecisionMode
    conflict: Conflict | None


class EntryPageResponse(Struct):
    items: list[EntryItem]
    next_before: Annotated[
        int | None, Meta(description="pass as ?before= for the next, older page")
    ]


class SeriesBucket(Struct):
    start: Annotated[str, Meta(description="ISO 8601 start of the bucket, with its offset")]
    allow: int
    deny: int


class SeriesResponse(Struct):
    bucket: Literal["hour", "day"]
    tz: Annotated[str, Meta(description="the zone days are counted in (IANA name)")]
    items: list[SeriesBucket]


class FoundPaymentItem(Struct):
    payment_id: Id
    user_id: Id
    email: str
    name: str | None
    status: PaymentStatus
    amount_cents: int
    currency: str
    created_at: Timestamp
    pass_id: Annotated[str | None, Meta(description="null until the member first shows a QR")]
    pass_state: PassState | None
    used_at: Timestamp | None
    used_gate: str | None


class FoundPaymentsResponse(Struct):
    items: list[FoundPaymentItem]


class KeyInfo(Struct):
    kid: str
    status: KeyStatus
    created_at: Timestamp


class KeyListResponse(Struct):
    items: list[KeyInfo]


class ErrorResponse(Struct, omit_defaults=True):
    """Every error body: the status code again and a human-readable detail."""

    status_code: int
    detail: str
    extra: list[Any] | dict[str, Any] | None = None


class ReadyResponse(Struct):
    status: Literal["ready"]
    database: Annotated[Literal["ok"], Meta(description="answered a cheap query just now")]
    active_kid: Annotated[str, Meta(description="the key that signs new passes")]


class HealthResponse(Struct):
    status: str


class WebhookResponse(Struct):
    received: bool
    outcome: Annotated[
        WebhookOutcome,
        Meta(
            description="applied: the payment moved; duplicate: event already handled; "
            "out_of_order: the payment is already at or past that state; ignored: not a "
            "payment event"
        ),
    ]


class InfoResponse(Struct):
    """What the member page shows before anyone pays."""

    gym_name: str
    price_cents: int
    currency: Annotated[str, Meta(description="ISO 4217", examples=["EUR"])]
    pass_ttl_seconds: Annotated[int, Meta(description="a pass is valid this long once issued")]
    dev_mode: Annotated[bool, Meta(description="a demo install: the mock provider's outcome")]
    payment_provider: Literal["mock", "stripe"]
    wallets: Annotated[
        list[Wallet], Meta(description="phone wallets a pass can be added to here (may be empty)")
    ] = []
    pass_binding: Annotated[
        BindingMode,
        Meta(description="device: passes are bound to a key on the member's phone"),
    ] = "none"  # noqa: S105  (a mode, not a password)
    proof_window_seconds: Annotated[
        int, Meta(description="how old or early a bound pass's proof may be")
    ] = 30


class WalletPassRequest(Struct):
    payment_id: Id


class WalletSaveLinkResponse(Struct):
    url: Annotated[
        str,
        Meta(
            description="https://pay.google.com/gp/v/save/<signed JWT>: open it on the phone",
            examples=["https://pay.google.com/gp/v/save/eyJhbGciOiJSUzI1NiJ9..."],
        ),
    ]


class OpenLinkRequest(Struct):
    link: Annotated[
        str,
        Meta(max_length=200, description="the secret after # in the emailed pass link"),
    ]
    device_key: DeviceJwk | None = None


class LinkedPassResponse(Struct, omit_defaults=True):
    token: Annotated[str, Meta(description="compact EdDSA JWT (with a cnf claim when bound)")]
    pass_id: Id
    payment_id: Id
    expires_at: Timestamp
    qr: PassQr | None
    status: PassState
    server_time: ServerTime
    jkt: Jkt | None
    holder: str | None = None
    used_at: Timestamp | None = None
    used_gate: str | None = None


class ResendRequest(Struct):
    email: Annotated[str, Meta(max_length=254, examples=["ana@example.com"])]


class ResendResponse(Struct):
    detail: str
