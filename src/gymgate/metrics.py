"""Prometheus metrics of the domain: gate decisions, their latency, issued tokens, keys, and
refused gate and admin credentials.

Served at /metrics by Litestar's PrometheusController next to its per-route HTTP metrics
(gymgate_http_*, every route but /verify, whose decisions are counted and timed here).
Every labelled series is created here, once, so the hot path only increments a counter it
already holds and observes one histogram: no label lookups, no allocation, no lock contention
beyond prometheus_client's own per-value lock.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Gauge, Histogram

from gymgate.keystore import KeySet
from gymgate.vocabulary import DENY_REASONS, KEY_STATUSES

__all__ = [
    "AUTH_FAILURES",
    "KEYS",
    "TOKENS_ISSUED",
    "VERIFY_DECISIONS",
    "VERIFY_SECONDS",
    "record_auth_failure",
    "record_keys",
    "record_verify",
]

VERIFY_DECISIONS = Counter(
    "gymgate_verify_decisions",
    "Gate decisions by result and deny reason (reason 'none' for allow)",
    ["result", "reason"],
)
VERIFY_SECONDS = Histogram(
    "gymgate_verify_duration_seconds",
    "Time to decide and audit one /verify, in seconds",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
TOKENS_ISSUED = Counter(
    "gymgate_tokens_issued", "Pass tokens signed by /generate_qr, re-generations included"
)
KEYS = Gauge("gymgate_signing_keys", "Signing keys by status", ["status"])
AUTH_FAILURES = Counter(
    "gymgate_auth_failures",
    "Requests refused 401/403 by gate (gate secret) or admin (admin token) authentication",
    ["kind"],
)

_DECISION_COUNTERS: dict[tuple[str, str | None], Counter] = {
    ("allow", None): VERIFY_DECISIONS.labels("allow", "none"),
    **{("deny", reason): VERIFY_DECISIONS.labels("deny", reason) for reason in DENY_REASONS},
}
AuthKind = Literal["gate", "admin"]
_AUTH_FAILURE_COUNTERS: dict[str, Counter] = {
    kind: AUTH_FAILURES.labels(kind) for kind in ("gate", "admin")
}


def record_verify(result: str, reason: str | None, seconds: float) -> None:
    """Count one gate decision and observe how long it took."""
    counter = _DECISION_COUNTERS.get((result, reason))
    if counter is not None:
        counter.inc()
    VERIFY_SECONDS.observe(seconds)


def record_auth_failure(kind: AuthKind) -> None:
    """Count one refused credential: a guessing gate or script shows up here."""
    _AUTH_FAILURE_COUNTERS[kind].inc()


def record_keys(keyset: KeySet) -> None:
    """Set the key gauge from the key set in use (called when /metrics is scraped)."""
    counts = dict.fromkeys(KEY_STATUSES, 0)
    for entry in keyset.entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    for status, count in counts.items():
        KEYS.labels(status).set(count)
