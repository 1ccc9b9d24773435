"""Load from a separate process: wrk with 16 connections, one thread, read back as numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONNECTIONS", "Load", "require_wrk", "wrk"]

CONNECTIONS = 16
SCRIPT = Path(__file__).with_name("load.lua")


@dataclass(frozen=True, slots=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors, timeouts and non-2xx/3xx answers
    bytes: int = 0  # read from the server, unfinished answers included

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    return found


def wrk(
    base_url: str,
    path: str,
    seconds: float,
    *,
    method: str = "GET",
    bodies: Path | None = None,
    authorization: str = "",
    connections: int = CONNECTIONS,
) -> Load:
    """Run wrk against base_url + path; request n sends line n of `bodies` (if given)."""
    command = [
        require_wrk(),
        "--threads=1",  # one load thread leaves the other core to the server
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        base_url,
        "--",
        method,
        path,
        str(bodies or ""),
        authorization,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((x for x in finished.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{finished.stdout}\n{finished.stderr}")
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    return Load(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=sum(result[k] for k in ("connect", "read", "write", "status", "timeout")),
        bytes=result["bytes"],
    )
