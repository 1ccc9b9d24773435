"""Servers under load: `gymgate serve` (or the hello-world app) in a process of its own."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from testkit.live_server import LiveServer, free_port

__all__ = ["free_port", "gymgate_server", "hello_server"]

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
