"""A real `gymgate serve` in a subprocess on a free port, for tests that need live HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from gymgate.settings import Settings

__all__ = ["LiveServer", "free_port", "gymgate_command", "server_env", "wait_until_ready"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def gymgate_command() -> list[str]:
    """The installed `gymgate` script next to the running interpreter."""
    return [str(Path(sys.executable).with_name("gymgate"))]


def wait_until_ready(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    name: str,
    timeout: float,
    log: Callable[[], str],
    interval: float = 0.05,
) -> None:
    """Poll `url` until it answers 200; RuntimeError (with `log()`) if `process` exits first
    or `timeout` seconds pass. Shared by LiveServer and the benchmarks' Server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(interval)  # polling for readiness, not racing: the loop ends on a real answer
    raise RuntimeError(f"{name} did not become ready:\n{log()}")


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The GYMGATE_* environment that serves `settings`' database and keys with its admin
    token, plus `extra`. Dev mode: test servers take payments from the mock provider. No
    per-address budgets: every test client shares 127.0.0.1, so the load and the hostile
    inputs of one test would otherwise spend one budget (the budgets have tests of their own,
    on apps of their own)."""
    assert settings.admin_token is not None
    return {
        "GYMGATE_DATABASE_URL": settings.database_url,
        "GYMGATE_KEYS_DIR": str(settings.keys_dir),
        "GYMGATE_ADMIN_TOKEN": settings.admin_token,
        "GYMGATE_DEV_MODE": "1",
        "GYMGATE_WRITE_LIMIT_PER_MINUTE": "0",
        "GYMGATE_AUTH_FAILURES_PER_MINUTE": "1000000",
        **extra,
    }


class LiveServer:
    """Starts `gymgate serve` (or `argv`, a server listening on `port`) and waits until
    `ready_path` answers; stops it on exit. The one live server of tests, scripts and
    benchmarks."""

    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str],
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
        argv: Sequence[str] | None = None,
        ready_path: str = "/health",
    ) -> None:
        self.workdir = workdir
        self.env = {**os.environ, **env}
        self.port = port or free_port()
        self.argv = list(argv or [*gymgate_command(), "serve", "--port", str(self.port)])
        self.extra_args = extra_args
        self.startup_timeout = startup_timeout
        self.ready_path = ready_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        self.spawn()
        try:
            self.wait_until_healthy()
        except BaseException:
            self.stop()  # a server that never got ready must not outlive its test
            raise
        return self

    def spawn(self) -> LiveServer:
        """Start the process without waiting: spawn several, then wait for each."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.argv, *self.extra_args],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_until_healthy(self) -> None:
        assert self.process is not None
        wait_until_ready(
            self.process,
            self.url + self.ready_path,
            name=" ".join(self.argv[:3]),
            timeout=self.startup_timeout,
            log=self.log,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes, in MB."""
        assert self.process is not None
        return sum(_rss_kb(pid) for pid in _process_tree(self.process.pid)) / 1024

    def kill(self) -> None:
        """SIGKILL: the crash a power-cycled turnstile box sees."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _process_tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += _process_tree(int(child))
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
