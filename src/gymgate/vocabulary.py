"""gymgate's words, each defined once: models, schemas, metrics and services all use these.

Each word is a `Literal` (so mypy and msgspec check every value, and OpenAPI lists them) and
a tuple of its values in their natural order (for loops, metrics and database checks).
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "BINDING_MODES",
    "CONFLICTS",
    "DECISION_MODES",
    "DENY_REASONS",
    "KEY_STATUSES",
    "PASS_STATES",
    "PAYMENT_STATUSES",
    "QR_FORMATS",
    "RESULTS",
    "USED_STATES",
    "WALLETS",
    "BindingMode",
    "Conflict",
    "DecisionMode",
    "DenyReason",
    "KeyStatus",
    "PassState",
    "PaymentStatus",
    "QrFormat",
    "Result",
    "UsedState",
    "Wallet",
    "WebhookOutcome",
]

# Why a gate said no: exactly the contract's strings.
DenyReason = Literal[
    "malformed",
    "bad_signature",
    "unknown_key",
    "expired",
    "not_yet_valid",
    "already_used",
    "revoked",
    "invalid_claims",
]
# What a gate did.
Result = Literal["allow", "deny"]
# Who decided: the server, or a gate on its own while the server was out of reach.
DecisionMode = Literal["online", "offline"]
# What the server found when an offline admission reached it: a second use, or a revoked pass.
Conflict = Literal["already_used", "revoked"]
# Where a payment stands; failed and refunded are final.
PaymentStatus = Literal["pending", "completed", "failed", "refunded"]
# Where a pass stands, as its holder sees it.
PassState = Literal["unused", "used", "revoked", "expired"]
# Why a pass is in the used-nonce table: it admitted someone, or it was refunded first.
UsedState = Literal["used", "revoked"]
# A signing key's life: signs new passes, still verifies old ones, or is no longer trusted.
KeyStatus = Literal["active", "verify-only", "retired"]
# What a provider's webhook did: moved the payment, was seen before, came too late, or was
# not about a payment.
WebhookOutcome = Literal["applied", "duplicate", "out_of_order", "ignored"]
# How /generate_qr hands out a pass.
QrFormat = Literal["json", "png", "svg"]
# Phone wallets a pass can be saved to (when the gym has configured them).
Wallet = Literal["apple", "google"]
# Whether an installation issues plain passes, or passes bound to a key on the member's phone.
BindingMode = Literal["none", "device"]

DENY_REASONS: tuple[DenyReason, ...] = get_args(DenyReason)
RESULTS: tuple[Result, ...] = get_args(Result)
DECISION_MODES: tuple[DecisionMode, ...] = get_args(DecisionMode)
CONFLICTS: tuple[Conflict, ...] = get_args(Conflict)
PAYMENT_STATUSES: tuple[PaymentStatus, ...] = get_args(PaymentStatus)
PASS_STATES: tuple[PassState, ...] = get_args(PassState)
USED_STATES: tuple[UsedState, ...] = get_args(UsedState)
KEY_STATUSES: tuple[KeyStatus, ...] = get_args(KeyStatus)
QR_FORMATS: tuple[QrFormat, ...] = get_args(QrFormat)
WALLETS: tuple[Wallet, ...] = get_args(Wallet)
BINDING_MODES: tuple[BindingMode, ...] = get_args(BindingMode)
