"""Domain errors: what can go wrong in gymgate's own terms, with nothing about HTTP.

    GymgateError
    ├── ConfigError            a bad GYMGATE_* variable or keys/ layout; fatal at start-up
    ├── KeyStoreError          keys/ missing, unknown kid, unreadable key file, or a key set
    │                          that another user could change (refused, never trusted)
    ├── InvalidInput           a request value the domain refuses (bad email, unknown format)
    ├── NotFound               no such payment / pass
    ├── PaymentNotCompleted    a pass was asked for an unpaid payment
    ├── PaymentConflict        refund of a non-refundable payment; pass of a refunded one
    ├── BindingConflict        moving a pass that already admitted someone to another phone
    ├── AlreadyExists          a name or key that must be unique is taken
    ├── GateRevoked            an act on a gate credential that was revoked
    ├── KeyConflict            a key's status forbids the change (retiring the active key)
    ├── StorageUnavailable     the database cannot be reached or stays locked
    └── TokenRejected          a token fails verification; `.reason` is the gate's deny reason

The API maps each to one status code in `gymgate.api.errors`; the gate turns TokenRejected
into a deny value, never an error response.
"""

from __future__ import annotations

from gymgate.vocabulary import DenyReason

__all__ = [
    "AlreadyExists",
    "BindingConflict",
    "ConfigError",
    "GateRevoked",
    "GymgateError",
    "InvalidInput",
    "KeyConflict",
    "KeyStoreError",
    "NotFound",
    "PaymentConflict",
    "PaymentNotCompleted",
    "StorageUnavailable",
    "TokenRejected",
]


class GymgateError(Exception):
    """Base of every error gymgate raises on purpose; its message is for humans."""


class ConfigError(GymgateError):
    """Configuration that cannot work; the message names the variable."""


class KeyStoreError(GymgateError):
    """The key set on disk is missing, inconsistent, or lacks the key asked for."""


class InvalidInput(GymgateError):
    """A value a caller supplied that the domain refuses."""


class NotFound(GymgateError):
    """The thing asked for does not exist."""


class PaymentNotCompleted(GymgateError):
    """A pass was requested for a payment that is pending or failed."""


class PaymentConflict(GymgateError):
    """The payment's state forbids the action (refunded, already refunded, not refundable)."""


class BindingConflict(GymgateError):
    """A used pass cannot move to another phone: re-binding it would serve no one honest."""


class AlreadyExists(GymgateError):
    """Something that must be unique (a gate name, say) exists already."""


class StorageUnavailable(GymgateError):
    """The database did not answer in time; nothing was decided or recorded."""


class TokenRejected(GymgateError):
    """A token that must not open the gate, with the contract's deny reason."""

    def __init__(self, reason: DenyReason, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason: DenyReason = reason


class GateRevoked(GymgateError):
    """The gate credential was revoked: it can no longer be rotated or used."""


class KeyConflict(GymgateError):
    """A signing key's status forbids the change: the active key cannot be retired."""
