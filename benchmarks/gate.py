"""M2/M3/M5/M6: POST /verify over HTTP from wrk, every allow a pass never shown before."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.loadgen import Load, wrk
from benchmarks.servers import gymgate_server
from benchmarks.workspace import GATE, Workspace, audit_counts, used_pass_ids

__all__ = ["GateRun", "load_gate"]

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
) -> GateRun:
    """Warm up, load distinct valid passes, then replay used ones (all already_used)."""
    if prepare is not None:
        prepare()
    secret = workspace.add_gate(database_url)
    authorization = f"Bearer {secret}"
    env = workspace.server_env(database_url)
    with gymgate_server(workspace.root, env, workers) as server:

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


def _bodies(workspace: Workspace, name: str, tokens: list[tuple[str, str]]) -> Path:
    path = workspace.root / f"{name}.jsonl"
    lines = (json.dumps({"token": token, "gate": GATE}) for _, token in tokens)
    path.write_text("\n".join(lines) + "\n")
    return path


def _share(rows: dict[str, int], result: str) -> float:
    total = sum(rows.values())
    return rows.get(result, 0) / total if total else 0.0
