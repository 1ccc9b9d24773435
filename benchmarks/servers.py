"""Servers under load: `gymgate serve` (or the hello-world app) in a process of its own."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from testkit.live_server import free_port, gymgate_command, wait_until_ready

__all__ = ["Server", "free_port", "gymgate_serve", "hello_serve"]


def gymgate_serve(port: int, workers: int = 1) -> list[str]:
    """The installed `gymgate serve`, exactly as an operator runs it."""
    return [*gymgate_command(), "serve", "--port", str(port), "--workers", str(workers)]


def hello_serve(port: int) -> list[str]:
    return [sys.executable, "-m", "benchmarks.hello", "--port", str(port)]


class Server:
    """Starts a server command, waits for `ready_path` to answer 200, stops it on exit."""

    def __init__(
        self,
        command: list[str],
        *,
        port: int,
        env: dict[str, str],
        workdir: Path,
        ready_path: str = "/health",
    ) -> None:
        self.command = command
        self.env = env
        self.workdir = workdir
        self.ready_path = ready_path
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"server-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_until_ready(
                self.process,
                self.url + self.ready_path,
                name=str(self.command),
                timeout=60,
                log=self.log,
                interval=0.1,
            )
        except RuntimeError:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes, in MB."""
        assert self.process is not None
        return sum(_rss_kb(pid) for pid in _process_tree(self.process.pid)) / 1024

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


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
