"""The gate agent end to end: a real server that goes away and comes back, real agents."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
from testkit.live_server import LiveServer, gymgate_command

from tests.api.helpers import tampered
from tests.gate.conftest import (
    ADMIN,
    UNREACHABLE,
    add_gate_box,
    agent_env,
    audit,
    new_pass,
)

pytestmark = pytest.mark.e2e


def test_offline_gates_admit_once_each_and_every_scan_is_audited_once(
    live_server: LiveServer, tmp_path: Path
) -> None:
    north = add_gate_box(live_server, tmp_path, "north")
    south = add_gate_box(live_server, tmp_path, "south")
    twice = new_pass(live_server, "twice@example.com")
    seen = new_pass(live_server, "seen@example.com")
    refunded = new_pass(live_server, "refunded@example.com")
    refund = httpx.post(
        f"{live_server.url}/payments/{refunded['payment_id']}/refund", headers=ADMIN
    )
    assert refund.status_code == 200, refund.text
    assert north.sync(live_server.url).returncode == 0
    assert south.sync(live_server.url).returncode == 0
    online = north.run(live_server.url, seen["token"])
    assert [(a["status"], a["mode"]) for a in online] == [("allow", "online")]

    live_server.stop()
    at_north = north.run(
        live_server.url,
        twice["token"],
        refunded["token"],
        "junk",
        tampered(twice["token"]),
        seen["token"],
        twice["token"],
    )
    at_south = south.run(live_server.url, twice["token"])

    assert [(a["status"], a.get("reason"), a["mode"]) for a in at_north] == [
        ("allow", None, "offline"),
        ("deny", "revoked", "offline"),
        ("deny", "malformed", "offline"),
        ("deny", "bad_signature", "offline"),
        ("deny", "already_used", "offline"),  # admitted online before the outage
        ("deny", "already_used", "offline"),
    ]
    assert [(a["status"], a["mode"]) for a in at_south] == [("allow", "offline")]

    live_server.start()
    for box in (north, south):
        synced = box.sync(live_server.url)
        assert synced.returncode == 0, synced.stderr
    rows = audit(live_server)
    offline = Counter(
        (r["gate"], r["result"], r["reason"], r["conflict"], r["pass_id"])
        for r in rows
        if r["mode"] == "offline"
    )
    assert offline == Counter(
        {
            ("north", "allow", None, None, twice["pass_id"]): 1,
            ("north", "deny", "revoked", None, refunded["pass_id"]): 1,
            ("north", "deny", "malformed", None, None): 1,
            ("north", "deny", "bad_signature", None, None): 1,
            ("north", "deny", "already_used", None, seen["pass_id"]): 1,
            ("north", "deny", "already_used", None, twice["pass_id"]): 1,
            ("south", "allow", None, "already_used", twice["pass_id"]): 1,
        }
    )
    assert len(rows) == 8  # and the one online allow

    assert north.sync(live_server.url).returncode == 0
    assert south.sync(live_server.url).returncode == 0
    assert len(audit(live_server)) == 8  # a second sync adds nothing


def test_an_offline_allow_survives_kill_9_and_is_uploaded_by_the_next_sync(
    live_server: LiveServer, tmp_path: Path
) -> None:
    box = add_gate_box(live_server, tmp_path, "north")
    issued = new_pass(live_server, "ana@example.com")
    assert box.sync(live_server.url).returncode == 0

    agent = subprocess.Popen(
        [*gymgate_command(), "gate", "run", *box.args(UNREACHABLE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=agent_env(),
    )
    assert agent.stdin is not None
    assert agent.stdout is not None
    agent.stdin.write(issued["token"] + "\n")
    agent.stdin.flush()
    first = json.loads(agent.stdout.readline())
    agent.send_signal(signal.SIGKILL)
    agent.wait(timeout=10)
    agent.stdin.close()
    agent.stdout.close()
    assert (first["status"], first["mode"]) == ("allow", "offline")

    synced = box.sync(live_server.url)

    assert synced.returncode == 0, synced.stderr
    rows = audit(live_server)
    assert [(r["gate"], r["result"], r["mode"], r["pass_id"]) for r in rows] == [
        ("north", "allow", "offline", issued["pass_id"])
    ]


def test_a_gate_that_never_synced_is_unavailable(tmp_path: Path) -> None:
    from tests.gate.conftest import GateBox

    secret = tmp_path / "secret"
    secret.write_text("whatever\n")
    box = GateBox("north", secret, tmp_path / "state")

    answers = box.run(UNREACHABLE, "any-code")

    assert [a["status"] for a in answers] == ["unavailable"]
    assert "never synced" in answers[0]["detail"]


def test_stale_offline_data_is_unavailable(live_server: LiveServer, tmp_path: Path) -> None:
    box = add_gate_box(live_server, tmp_path, "north")
    issued = new_pass(live_server, "ana@example.com")
    assert box.sync(live_server.url).returncode == 0

    answers = box.run(UNREACHABLE, issued["token"], extra=("--max-offline", "0s"))

    assert [a["status"] for a in answers] == ["unavailable"]
    assert "freshness limit" in answers[0]["detail"]


def test_on_allow_runs_the_relay_command_for_allows_only(
    live_server: LiveServer, tmp_path: Path
) -> None:
    box = add_gate_box(live_server, tmp_path, "north")
    issued = new_pass(live_server, "ana@example.com")
    pulses = tmp_path / "pulses"
    relay = f'echo "$GATE_MODE $GATE_PASS_ID" >> {pulses}'

    box.run(live_server.url, issued["token"], issued["token"], extra=("--on-allow", relay))

    assert pulses.read_text().splitlines() == [f"online {issued['pass_id']}"]
