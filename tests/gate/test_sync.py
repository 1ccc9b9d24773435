"""`gymgate gate sync`: exit 0 when everything is acknowledged, else one line saying why."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from testkit.live_server import LiveServer, gymgate_command

from tests.gate.conftest import ADMIN, UNREACHABLE, add_gate_box

pytestmark = pytest.mark.e2e

REVOKE_SECONDS = 15.0


def test_sync_with_a_wrong_secret_says_so(live_server: LiveServer, tmp_path: Path) -> None:
    box = add_gate_box(live_server, tmp_path, "north")
    box.secret_file.write_text("not-the-secret\n")

    synced = box.sync(live_server.url)

    assert synced.returncode != 0
    assert synced.stderr.strip().splitlines() == ["Error: wrong gate secret"]


def test_sync_of_a_revoked_gate_says_so(live_server: LiveServer, tmp_path: Path) -> None:
    box = add_gate_box(live_server, tmp_path, "north")
    assert httpx.post(live_server.url + "/gates/north/revoke", headers=ADMIN).status_code == 200

    synced = box.sync(live_server.url)

    assert synced.returncode != 0
    assert synced.stderr.strip().splitlines() == ["Error: this gate was revoked"]


def test_sync_with_the_server_down_says_so(tmp_path: Path) -> None:
    from tests.gate.conftest import GateBox

    secret = tmp_path / "secret"
    secret.write_text("whatever\n")

    synced = GateBox("north", secret, tmp_path / "state").sync(UNREACHABLE)

    assert synced.returncode != 0
    assert synced.stderr.strip().startswith("Error: server unreachable: ")
    assert len(synced.stderr.strip().splitlines()) == 1


def test_gates_revoke_on_the_cli_stops_a_running_server_within_seconds(
    live_server: LiveServer, tmp_path: Path
) -> None:
    box = add_gate_box(live_server, tmp_path, "north")
    auth = {"Authorization": f"Bearer {box.secret_file.read_text().strip()}"}
    assert httpx.post(live_server.url + "/verify", json={"token": "x"}, headers=auth).is_success

    subprocess.run(
        [*gymgate_command(), "gates", "revoke", "north"],
        env=live_server.env,
        cwd=live_server.workdir,
        check=True,
        capture_output=True,
        timeout=60,
    )

    deadline = time.monotonic() + REVOKE_SECONDS
    status = 200
    while status != 401 and time.monotonic() < deadline:
        status = httpx.post(
            live_server.url + "/verify", json={"token": "x"}, headers=auth
        ).status_code
        time.sleep(0.2)  # polling for a deadline, not racing
    assert status == 401
