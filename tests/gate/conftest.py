"""Builders for gate agent tests: a live server's gates and passes over HTTP, and the agent
run as a real `gymgate gate run` / `gymgate gate sync` subprocess."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from testkit.live_server import LiveServer, free_port, gymgate_command

from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
UNREACHABLE = f"http://127.0.0.1:{free_port()}"  # nothing listens there


@dataclass
class GateBox:
    """One turnstile's agent: its secret file and state directory."""

    name: str
    secret_file: Path
    state_dir: Path

    def args(self, server: str) -> list[str]:
        return [
            "--server",
            server,
            "--secret-file",
            str(self.secret_file),
            "--state-dir",
            str(self.state_dir),
        ]

    def sync(self, server: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*gymgate_command(), "gate", "sync", *self.args(server)],
            capture_output=True,
            text=True,
            timeout=60,
            env=agent_env(),
        )

    def run(self, server: str, *codes: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Feed codes on stdin; the JSON lines printed, one per code."""
        done = subprocess.run(
            [*gymgate_command(), "gate", "run", *self.args(server), *extra],
            input="".join(code + "\n" for code in codes),
            capture_output=True,
            text=True,
            timeout=60,
            env=agent_env(),
        )
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]


def agent_env() -> dict[str, str]:
    """The agent needs no GYMGATE_* settings: everything comes from its options."""
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GYMGATE_")}


def add_gate_box(server: LiveServer, root: Path, name: str) -> GateBox:
    created = httpx.post(server.url + "/gates", json={"name": name}, headers=ADMIN)
    assert created.status_code == 201, created.text
    secret_file = root / f"{name}.secret"
    secret_file.write_text(created.json()["secret"] + "\n")
    return GateBox(name, secret_file, root / f"{name}-state")


def new_pass(server: LiveServer, email: str) -> dict[str, Any]:
    payment = httpx.post(server.url + "/create_payment", json={"email": email}).json()
    issued = httpx.post(server.url + "/generate_qr", json={"payment_id": payment["payment_id"]})
    assert issued.status_code == 201, issued.text
    return {**issued.json(), "payment_id": payment["payment_id"]}


def audit(server: LiveServer) -> list[dict[str, Any]]:
    response = httpx.get(server.url + "/audit", params={"limit": 500}, headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
