"""Logs of a live `gymgate serve`: JSON lines, a request id on every line written for a
request (echoed in X-Request-ID), one line per gate decision, no token or secret anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from testkit.live_server import LiveServer, server_env

from gymgate.settings import Settings
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def serve(tmp_path: Path, settings: Settings, **env: str) -> LiveServer:
    return LiveServer(tmp_path, server_env(settings, **env))


def lines(server: LiveServer) -> list[dict[str, Any]]:
    """Every line the server wrote, each parsed as JSON (a line that is not JSON fails)."""
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def visit(server: LiveServer, gate_secret: str) -> dict[str, Any]:
    """Pay, get a QR, scan it twice; what was sent and received."""
    with httpx.Client(base_url=server.url) as client:
        health = client.get("/health", headers={"X-Request-ID": "trace-42"})
        payment = client.post("/create_payment", json={"email": "ana@example.com"}).json()
        issued = client.post("/generate_qr", json={"payment_id": payment["payment_id"]}).json()
        auth = {"Authorization": f"Bearer {gate_secret}"}
        scans = [
            client.post("/verify", json={"token": issued["token"]}, headers=auth) for _ in range(2)
        ]
    return {"health": health, "issued": issued, "scans": scans}


@pytest.fixture
def logged(tmp_path: Path, settings: Settings, gate_secret: str) -> dict[str, Any]:
    server = serve(tmp_path, settings)
    with server:
        seen = visit(server, gate_secret)
    return {**seen, "lines": lines(server), "text": server.log(), "secret": gate_secret}


def test_json_lines_and_each_request_line_has_the_request_id_it_answered_with(
    logged: dict[str, Any],
) -> None:
    for line in logged["lines"]:
        assert {"event", "level", "logger", "timestamp"} <= line.keys(), line
    access = [line for line in logged["lines"] if line["logger"] == "uvicorn.access"]
    answered = [logged["health"], *logged["scans"]]

    assert all(re.fullmatch(r"[0-9a-f]{32}|trace-42", line["request_id"]) for line in access)
    assert logged["health"].headers["x-request-id"] == "trace-42"
    ids = [line["request_id"] for line in access]
    assert [response.headers["x-request-id"] for response in answered] == [
        ids[-5],  # /health, then pay, QR, and the two scans
        ids[-2],
        ids[-1],
    ]
    health = next(line for line in access if line["request_id"] == "trace-42")
    assert health | {"timestamp": None} == {
        "event": "request",
        "request_id": "trace-42",
        "level": "info",
        "logger": "uvicorn.access",
        "timestamp": None,
        "client": health["client"],
        "method": "GET",
        "path": "/health",
        "status": 200,
    }


def test_one_line_per_verify_decision_without_the_token(logged: dict[str, Any]) -> None:
    decisions = [line for line in logged["lines"] if line["event"] == "verify"]
    pass_id = logged["issued"]["pass_id"]

    assert [(d["gate"], d["result"], d["reason"], d["pass_id"]) for d in decisions] == [
        ("front-door", "allow", None, pass_id),
        ("front-door", "deny", "already_used", pass_id),
    ]
    scan_ids = [response.headers["x-request-id"] for response in logged["scans"]]
    assert [d["request_id"] for d in decisions] == scan_ids
    assert logged["issued"]["token"] not in logged["text"]
    assert logged["secret"] not in logged["text"]
    assert ADMIN_TOKEN not in logged["text"]


def test_the_log_level_comes_from_the_settings(
    tmp_path: Path, settings: Settings, gate_secret: str
) -> None:
    server = serve(tmp_path, settings, GYMGATE_LOG_LEVEL="WARNING")
    with server:
        visit(server, gate_secret)

    assert [line for line in lines(server) if line["level"] in ("debug", "info")] == []


async def test_an_unusable_request_id_is_replaced(client: AsyncTestClient[Litestar]) -> None:
    kept = await client.get("/health", headers={"X-Request-ID": "Root=1-67891233-abcdef"})
    replaced = await client.get("/health", headers={"X-Request-ID": "x" * 129})
    injected = await client.get("/health", headers={"X-Request-ID": 'a" "level": "error'})

    assert kept.headers["x-request-id"] == "Root=1-67891233-abcdef"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", injected.headers["x-request-id"])


def test_payment_and_pass_ids_and_query_strings_never_reach_the_log(
    tmp_path: Path, settings: Settings
) -> None:
    # A payment id is a capability (it draws the member's QR); a query can name an email.
    with serve(tmp_path, settings) as server, httpx.Client(base_url=server.url) as client:
        payment = client.post("/create_payment", json={"email": "ana@example.com"}).json()
        issued = client.post("/generate_qr", json={"payment_id": payment["payment_id"]}).json()
        client.get(f"/payments/{payment['payment_id']}")
        client.get(f"/passes/{issued['pass_id']}")
        client.post(f"/payments/{payment['payment_id']}/refund")  # 401: no admin token
        client.get("/payments", params={"email": "ana@example.com"})
        text = server.log()

    assert payment["payment_id"] not in text
    assert issued["pass_id"] not in text
    assert "ana@example.com" not in text
    paths = {line.get("path") for line in lines(server) if line["logger"] == "uvicorn.access"}
    assert {"/payments/{id}", "/passes/{id}", "/payments/{id}/refund", "/payments"} <= paths
