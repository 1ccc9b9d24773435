"""M2/M3/M5/M6: POST /verify over HTTP from wrk, every allow a pass never shown before."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from testkit.live_server import LiveServer

from benchmarks.loadgen import Load, wrk
from benchmarks.servers import floor_server, gymgate_server
from benchmarks.workspace import GATE, Workspace, audit_counts, used_pass_ids

__all__ = ["GateRun", "gate_bodies", "load_floor", "load_gate"]

WARMUP_SECONDS = 2
WARMUP_TOKENS = 20_000


@dataclass(frozen=True, slots=True)
class GateRun:
    """One server's allow run, then (optionally) its all-denies run, and its memory after."""

    allow: Load
    allowed_share: float  # of the allow run's audit rows, the share that were allows
    deny: Load | None
    denied_share: float | None
    rss_mb: float


def load_gate(
    workspace: Workspace,
    database_url: str,
    seconds: float,
    *,
    name: str,
    workers: int = 1,
    with_denies: bool = True,
    prepare: Callable[[], object] | None = None,
    env: dict[str, str] | None = None,
) -> GateRun:
    """Warm up, load distinct valid passes, then replay used ones (all already_used)."""
    if prepare is not None:
        prepare()
    secret = workspace.add_gate(database_url)
    server_env = {**workspace.server_env(database_url), **(env or {})}
    server = gymgate_server(workspace.root, server_env, workers)
    return _load(workspace, server, database_url, secret, seconds, name, with_denies)


def load_floor(workspace: Workspace, database_url: str, seconds: float) -> GateRun:
    """F5: the essential-work floor server, loaded exactly like M2 (allows only)."""
    secret = workspace.add_gate(database_url)
    server = floor_server(workspace, database_url, secret)
    return _load(workspace, server, database_url, secret, seconds, "f5", with_denies=False)


def _load(
    workspace: Workspace,
    server_to_start: LiveServer,
    database_url: str,
    secret: str,
    seconds: float,
    name: str,
    with_denies: bool,
) -> GateRun:
    authorization = f"Bearer {secret}"
    with server_to_start as server:

        def run(bodies: Path, duration: float) -> tuple[Load, dict[str, int]]:
            before = audit_counts(database_url)
            load = wrk(
                server.url,
                "/verify",
                duration,
                method="POST",
                bodies=bodies,
                authorization=authorization,
            )
            after = audit_counts(database_url)
            return load, {k: after.get(k, 0) - before.get(k, 0) for k in ("allow", "deny")}

        tokens = workspace.tokens(WARMUP_TOKENS)
        warm, _ = run(_bodies(workspace, f"{name}-warm", tokens), WARMUP_SECONDS)
        needed = int(warm.rps * seconds * 1.6) + 2000
        fresh = workspace.tokens(WARMUP_TOKENS + needed)[WARMUP_TOKENS:]
        allow, allow_rows = run(_bodies(workspace, f"{name}-allow", fresh), seconds)
        deny = denied_share = None
        if with_denies:
            used = used_pass_ids(database_url)
            replay = [pair for pair in fresh if pair[0] in used]
            deny, deny_rows = run(_bodies(workspace, f"{name}-deny", replay), seconds)
            denied_share = _share(deny_rows, "deny")
        return GateRun(allow, _share(allow_rows, "allow"), deny, denied_share, server.rss_mb())


def gate_bodies(tokens: list[tuple[str, str]]) -> list[bytes]:
    """/verify request bodies, one per (pass_id, token)."""
    return [json.dumps({"token": token, "gate": GATE}).encode() for _, token in tokens]


def _bodies(workspace: Workspace, name: str, tokens: list[tuple[str, str]]) -> Path:
    path = workspace.root / f"{name}.jsonl"
    path.write_bytes(b"\n".join(gate_bodies(tokens)) + b"\n")
    return path


def _share(rows: dict[str, int], result: str) -> float:
    total = sum(rows.values())
    return rows.get(result, 0) / total if total else 0.0
