"""The gate agent: decides at a turnstile, online through the server or offline from its
own synced state, and uploads its offline decisions when the server is back."""

from __future__ import annotations

from gymgate.gate.agent import Agent, parse_duration
from gymgate.gate.client import GateClient, GateRefused, ServerUnreachable
from gymgate.gate.store import LocalStore
from gymgate.gate.sync import sync_round

__all__ = [
    "Agent",
    "GateClient",
    "GateRefused",
    "LocalStore",
    "ServerUnreachable",
    "parse_duration",
    "sync_round",
]
