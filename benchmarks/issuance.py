"""M4: POST /generate_qr as a PNG, per second; the token's length and its QR version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.loadgen import Load, wrk
from benchmarks.servers import gymgate_server
from benchmarks.workspace import Workspace
from gymgate.qr import qr_version

__all__ = ["Issuance", "load_issuance"]

PAYMENTS = 64


@dataclass(frozen=True, slots=True)
class Issuance:
    load: Load
    token_bytes: int
    qr_version: int


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(url, json=body, timeout=10)
    answer.raise_for_status()
    document: dict[str, Any] = answer.json()
    return document


def load_issuance(workspace: Workspace, database_url: str, seconds: float) -> Issuance:
    """PNG QR codes for a set of paid passes, re-generated round robin (as members do)."""
    env = workspace.server_env(database_url)
    with gymgate_server(workspace.root, env) as server:
        payments = [
            _post(f"{server.url}/create_payment", {"email": f"m{i}@example.com"})["payment_id"]
            for i in range(PAYMENTS)
        ]
        issued = _post(f"{server.url}/generate_qr", {"payment_id": payments[0]})
        bodies = workspace.root / "generate-qr.jsonl"
        bodies.write_text(
            "".join(json.dumps({"payment_id": p, "format": "png"}) + "\n" for p in payments)
        )
        wrk(server.url, "/generate_qr", 1, method="POST", bodies=bodies)  # warm-up
        load = wrk(server.url, "/generate_qr", seconds, method="POST", bodies=bodies)
    token: str = issued["token"]
    return Issuance(load, len(token.encode()), qr_version(token))
