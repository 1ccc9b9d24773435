"""Servers under load: `gymgate serve` (or the hello-world app) in a process of its own."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from testkit.live_server import LiveServer, free_port

from benchmarks.workspace import Workspace

__all__ = ["REPO", "floor_server", "free_port", "gymgate_server", "hello_server"]

REPO = Path(__file__).resolve().parents[1]

# Benchmark servers start on a loaded machine: give them time.
STARTUP_SECONDS = 60.0


def gymgate_server(workdir: Path, env: Mapping[str, str], workers: int = 1) -> LiveServer:
    """The installed `gymgate serve`, exactly as an operator runs it."""
    return LiveServer(
        workdir, env, extra_args=("--workers", str(workers)), startup_timeout=STARTUP_SECONDS
    )


def hello_server(workdir: Path, env: Mapping[str, str]) -> LiveServer:
    port = free_port()
    return LiveServer(
        workdir,
        env,
        port=port,
        argv=[sys.executable, "-m", "benchmarks.hello", "--port", str(port)],
        ready_path="/hello",
        startup_timeout=STARTUP_SECONDS,
    )


def floor_server(workspace: Workspace, database_url: str, gate_secret: str) -> LiveServer:
    """F5's essential-work server on `database_url`, its gate secret given in its env."""
    port = free_port()
    env = {
        "PYTHONPATH": str(REPO),
        "FLOOR_DATABASE_URL": database_url,
        "FLOOR_KEYS": str(workspace.keys_dir),
        "FLOOR_GATE_SECRET": gate_secret,
    }
    return LiveServer(
        workspace.root,
        env,
        port=port,
        argv=[sys.executable, "-m", "benchmarks.floor_server", "--port", str(port)],
        startup_timeout=STARTUP_SECONDS,
    )
