"""Offline gates: local decisions per second against the Ed25519 floor, and the time to sync
10,000 offline decisions to a live server (SQLite).

    .venv/bin/python -m benchmarks.offline            # BENCH_INPROC_SECONDS=3, 10,000 decisions
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from testkit.databases import sqlite_url

from benchmarks.floors import ed25519_verifies
from benchmarks.servers import gymgate_server
from benchmarks.workspace import Workspace
from gymgate.gate.agent import Agent, AgentOptions
from gymgate.gate.client import GateClient
from gymgate.gate.store import LocalStore, SyncedRules
from gymgate.gate.sync import SyncResult, sync_round

__all__ = ["main"]

INPROC_SECONDS = float(os.environ.get("BENCH_INPROC_SECONDS", "3"))
SYNC_DECISIONS = int(os.environ.get("BENCH_SYNC_DECISIONS", "10000"))


def _rules(workspace: Workspace) -> SyncedRules:
    return SyncedRules(
        gate="bench",
        issuer="gymgate",
        leeway_seconds=30,
        pass_ttl_seconds=86400,
        jwks=workspace.keyset.jwks(),
        synced_at=time.time(),
        clock_offset=0.0,
        cursor="",
    )


async def _decide(agent: Agent, tokens: list[str]) -> float:
    """Offline decisions per second, one at a time, each committed (FULL sync) locally."""
    started = time.perf_counter()
    for token in tokens:
        answer = await agent.decide_offline(token)
        assert answer["status"] == "allow", answer
    return len(tokens) / (time.perf_counter() - started)


async def _sync(server: str, secret: str, store: LocalStore) -> tuple[SyncResult, float]:
    """One sync round uploading every pending decision; its result and its seconds."""
    client = GateClient(server, secret, timeout=5, sync_timeout=120)
    try:
        started = time.perf_counter()
        result = await sync_round(client, store)
        return result, time.perf_counter() - started
    finally:
        await client.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gymgate-offline-bench-") as scratch:
        figures = measure(Workspace(Path(scratch)))
        print(json.dumps(figures), file=sys.stdout)


def measure(workspace: Workspace) -> dict[str, float]:
    """The offline figures (also a step of `make bench`), in a workspace of its own."""
    root = workspace.root / "offline"
    root.mkdir()
    tokens = [token for _, token in workspace.tokens(SYNC_DECISIONS)]
    public = workspace.keyset.entries[0].public_key
    floor = ed25519_verifies(tokens[0], public, INPROC_SECONDS)

    store = LocalStore(root / "gate-state")
    store.apply_state(_rules(workspace), [], [])
    offline = GateClient("http://127.0.0.1:9", "x", timeout=0.5, sync_timeout=60)
    agent = Agent(offline, store, AgentOptions())
    rate = asyncio.run(_decide(agent, tokens))

    database = root / "server.db"
    url = sqlite_url(database)
    env = workspace.server_env(url)
    shutil.copyfile(workspace.template, database)
    secret = workspace.add_gate(url)
    with gymgate_server(root, env) as server:
        result, sync_seconds = asyncio.run(_sync(server.url, secret, store))
    assert result.remaining == 0, result
    assert result.uploaded == len(tokens), result
    figures = {
        "ed25519_verifies_per_s": round(floor),
        "offline_decisions_per_s": round(rate),
        "offline_share_of_ed25519": round(rate / floor, 3),
        "sync_decisions": result.uploaded,
        "sync_seconds": round(sync_seconds, 2),
        "sync_decisions_per_s": round(result.uploaded / sync_seconds),
    }
    return figures


if __name__ == "__main__":
    main()
