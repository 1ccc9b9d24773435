"""SIGTERM to `gymgate serve` lets the verifies already in flight finish and answer.

A request is provably in flight when the server has asked for its body: the client sends
`Expect: 100-continue` with the headers and holds the body back until the server answers
`100 Continue`, which uvicorn does only once the app is reading the body. Then SIGTERM, then
(once the server says it is waiting for connections) the bodies: every verify must still be
decided, audited and answered before the process exits.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from testkit.live_server import LiveServer, server_env

from gymgate.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

IN_FLIGHT = 3
DEADLINE_SECONDS = 15.0


def issue_tokens(server: LiveServer, count: int) -> list[str]:
    with httpx.Client(base_url=server.url) as client:
        tokens = []
        for n in range(count):
            payment = client.post("/create_payment", json={"email": f"m{n}@example.com"}).json()
            issued = client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
            tokens.append(issued.json()["token"])
    return tokens


def start_verify(port: int, secret: str, body: bytes) -> socket.socket:
    """Send a /verify's headers only, and wait until the app asks for the body."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_SECONDS)
    head = (
        "POST /verify HTTP/1.1\r\nHost: gymgate\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    connection.sendall(head.encode())
    assert connection.recv(64).startswith(b"HTTP/1.1 100 Continue"), "the app never read"
    return connection


def finish(connection: socket.socket, body: bytes) -> tuple[int, dict[str, object]]:
    connection.sendall(body)
    raw = b""
    while chunk := connection.recv(65536):  # the server closes after answering: shutting down
        raw += chunk
    connection.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    answer: dict[str, object] = json.loads(payload)
    return int(head.split()[1]), answer


def wait_for_log(server: LiveServer, text: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while text not in server.log():
        assert time.monotonic() < deadline, f"the server never logged {text!r}:\n{server.log()}"
        time.sleep(0.05)  # polling the log file for a line that will come, bounded above


def test_sigterm_finishes_the_verifies_in_flight(
    tmp_path: Path, settings: Settings, gate_secret: str
) -> None:
    with LiveServer(tmp_path, server_env(settings)) as server:
        bodies = [json.dumps({"token": t}).encode() for t in issue_tokens(server, IN_FLIGHT)]
        connections = [start_verify(server.port, gate_secret, body) for body in bodies]
        assert server.process is not None

        server.process.send_signal(signal.SIGTERM)
        wait_for_log(server, "Waiting for connections to close")
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url + "/health", timeout=2)  # no longer accepting
        answers = [finish(c, body) for c, body in zip(connections, bodies, strict=True)]
        exit_code = server.process.wait(timeout=DEADLINE_SECONDS)

    assert [(status, answer["status"]) for status, answer in answers] == [(200, "allow")] * 3
    assert exit_code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log()
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    decisions = [line for line in lines if line["event"] == "verify"]
    assert len(decisions) == IN_FLIGHT
