"""Fifty scanners show one pass at the same moment to a live server: exactly one gets in."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from testkit.live_server import LiveServer, server_env

from gymgate.settings import Settings
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.e2e

SCANS = 50


async def issue_pass(http: httpx.AsyncClient) -> dict[str, Any]:
    payment = await http.post("/create_payment", json={"email": "ana@example.com"})
    assert payment.status_code == 201, payment.text
    issued = await http.post("/generate_qr", json={"payment_id": payment.json()["payment_id"]})
    assert issued.status_code == 201, issued.text
    body: dict[str, Any] = issued.json()
    return body


async def scan_at_once(server_url: str, secret: str) -> tuple[dict[str, Any], list[Any]]:
    """Issue a pass, then POST /verify it SCANS times concurrently; the pass and the answers."""
    limits = httpx.Limits(max_connections=SCANS, max_keepalive_connections=SCANS)
    async with httpx.AsyncClient(base_url=server_url, timeout=30, limits=limits) as http:
        issued = await issue_pass(http)
        headers = {"Authorization": f"Bearer {secret}"}
        body = {"token": issued["token"], "gate": "front-door"}
        responses = await asyncio.gather(
            *(http.post("/verify", json=body, headers=headers) for _ in range(SCANS))
        )
    assert [r.status_code for r in responses] == [200] * SCANS, [r.text for r in responses]
    return issued, [r.json() for r in responses]


async def audit_of(server_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        response = await http.get(
            "/audit", params={"limit": 500}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def assert_admitted_once(issued: dict[str, Any], answers: list[Any], audit: list[Any]) -> None:
    decisions = Counter((a["status"], a.get("reason")) for a in answers)
    assert decisions == {("allow", None): 1, ("deny", "already_used"): SCANS - 1}
    (allowed,) = [a for a in answers if a["status"] == "allow"]
    assert allowed["pass_id"] == issued["pass_id"]

    assert len(audit) == SCANS
    assert Counter((row["result"], row["reason"]) for row in audit) == decisions
    assert {row["pass_id"] for row in audit} == {issued["pass_id"]}
    assert {row["gate"] for row in audit} == {"front-door"}


async def test_fifty_concurrent_scans_of_one_token_admit_exactly_once(
    live_server: LiveServer, gate_secret: str
) -> None:
    issued, answers = await scan_at_once(live_server.url, gate_secret)

    assert_admitted_once(issued, answers, await audit_of(live_server.url))


async def test_fifty_concurrent_scans_across_two_worker_processes_admit_exactly_once(
    tmp_path: Path, settings: Settings, gate_secret: str
) -> None:
    with LiveServer(tmp_path, server_env(settings), extra_args=("--workers", "2")) as server:
        issued, answers = await scan_at_once(server.url, gate_secret)
        audit = await audit_of(server.url)

    assert_admitted_once(issued, answers, audit)
