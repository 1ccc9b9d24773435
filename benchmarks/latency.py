"""P2 and P3: /verify's latency at fixed rates (open loop), idle and beside floods.

P2 paces distinct valid passes at 100, 300 and 600 req/s against gymgate and against F5's
essential-work floor, each on a fresh database, both running side by side, and compares
their p99 at each rate.
P3 paces the gate at 100 req/s on a server holding 1 M audit rows, first alone, then while
wrk floods the same server with QR issuance (PNG, SVG), audit summaries and CSV exports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from testkit.live_server import LiveServer

from benchmarks.gate import gate_bodies, rotated
from benchmarks.loadgen import Load, wrk
from benchmarks.paced import Paced, paced_load
from benchmarks.servers import floor_server, gymgate_server
from benchmarks.workspace import Workspace

__all__ = ["FLOOD_KINDS", "RATES", "Flood", "Isolation", "isolation", "rate_latencies"]

RATES = (100, 300, 600)
GATE_RATE = 100
FLOOD_CONNECTIONS = 4
PAYMENTS = 32
FLOOD_KINDS = ("png", "svg", "summary", "csv")


def _pace(server: LiveServer, secret: str, bodies: list[bytes], rate: float, s: float) -> Paced:
    return asyncio.run(
        paced_load(
            server.url,
            "/verify",
            rate,
            s,
            lambda i: bodies[i],
            authorization=f"Bearer {secret}",
        )
    )


def rate_latencies(
    workspace: Workspace, seconds: float, rounds: int
) -> tuple[dict[int, list[Paced]], dict[int, list[Paced]]]:
    """(gymgate, floor) paced results by rate, one per round, each server on a fresh SQLite
    database.

    Both servers run side by side and take turns of `seconds` at each rate, round after
    round, the order alternating from turn to turn: whatever the machine is doing meanwhile
    (a database still settling the previous step's writes, a neighbour) falls on both
    alike, and each round's p99 ratio compares the same few seconds of the machine (as the
    gate's throughput ratios do, see benchmarks.gate).
    """
    ours_url = workspace.fresh_sqlite("p2-gymgate")
    ours_secret = workspace.add_gate(ours_url)
    floor_url = workspace.fresh_sqlite("p2-floor")
    floor_secret = workspace.add_gate(floor_url)
    ours: dict[int, list[Paced]] = {rate: [] for rate in RATES}
    floor: dict[int, list[Paced]] = {rate: [] for rate in RATES}
    with (
        gymgate_server(workspace.root, workspace.server_env(ours_url)) as gymgate,
        floor_server(workspace, floor_url, floor_secret) as essential,
    ):
        servers = [(gymgate, ours_secret, ours), (essential, floor_secret, floor)]
        for server, secret, _ in servers:
            _pace(server, secret, gate_bodies(workspace.new_tokens(200)), 100, 2)  # warm-up
        for turn in range(rounds * len(RATES)):
            rate = RATES[turn % len(RATES)]
            for server, secret, found in rotated(servers, turn):
                bodies = gate_bodies(workspace.new_tokens(int(rate * seconds) + 1))
                found[rate].append(_pace(server, secret, bodies, rate, seconds))
    return ours, floor


@dataclass(frozen=True, slots=True)
class Flood:
    """The gate's paced latency while one kind of request floods the server."""

    gate: Paced
    flood: Load | None  # None: the endpoint is missing on this server


@dataclass
class Isolation:
    """Round by round: the gate's idle run, then its run beside each flood."""

    idle: list[Paced] = field(default_factory=list)
    floods: dict[str, list[Flood]] = field(default_factory=dict)


def _flood_shapes(
    workspace: Workspace, server: LiveServer
) -> dict[str, tuple[str, str, Path | None, str]]:
    admin = f"Bearer {workspace.admin_token}"
    payments = [
        httpx.post(f"{server.url}/create_payment", json={"email": f"f{i}@example.com"}, timeout=10)
        .raise_for_status()
        .json()["payment_id"]
        for i in range(PAYMENTS)
    ]
    shapes: dict[str, tuple[str, str, Path | None, str]] = {}
    for kind in ("png", "svg"):
        bodies = workspace.root / f"flood-{kind}.jsonl"
        bodies.write_text(
            "".join(json.dumps({"payment_id": p, "format": kind}) + "\n" for p in payments)
        )
        shapes[kind] = ("POST", "/generate_qr", bodies, "")
    shapes["summary"] = ("GET", "/audit/summary", None, admin)
    shapes["csv"] = ("GET", "/audit/export.csv", None, admin)
    return shapes


@contextlib.contextmanager
def _flooding(
    server: LiveServer, shape: tuple[str, str, Path | None, str], seconds: float
) -> Iterator[list[Load]]:
    """wrk floods the server from a thread while the block runs; its Load once it is done."""
    method, path, bodies, authorization = shape
    loads: list[Load] = []

    def flood() -> None:
        loads.append(
            wrk(
                server.url,
                path,
                seconds,
                method=method,
                bodies=bodies,
                authorization=authorization,
                connections=FLOOD_CONNECTIONS,
            )
        )

    thread = threading.Thread(target=flood)
    thread.start()
    try:
        yield loads
    finally:
        thread.join()


def isolation(
    workspace: Workspace,
    database_url: str,
    seconds: float,
    rounds: int,
    kinds: Sequence[str] = FLOOD_KINDS,
) -> Isolation:
    """Gate p99 at GATE_RATE alone, then beside each flood of `kinds`, on one server and
    database, in `rounds` rounds of `seconds` turns: each flood's ratio compares it with
    the idle turn of its own round, moments apart (one idle run for the whole step let a
    single slow moment skew every flood's ratio)."""
    secret = workspace.add_gate(database_url, name="isolation")
    found = Isolation()
    with gymgate_server(workspace.root, workspace.server_env(database_url)) as server:
        shapes = _flood_shapes(workspace, server)
        _pace(server, secret, gate_bodies(workspace.new_tokens(200)), GATE_RATE, 2)  # warm-up
        fresh = workspace.new_tokens
        present = []
        for kind in kinds:
            method, path, _, authorization = shapes[kind]
            probe = httpx.request(
                method, server.url + path, headers={"Authorization": authorization}, timeout=60
            )
            if probe.status_code == 404:
                found.floods[kind] = []
            else:
                present.append(kind)
        for _ in range(rounds):
            idle = gate_bodies(fresh(int(GATE_RATE * seconds) + 1))
            found.idle.append(_pace(server, secret, idle, GATE_RATE, seconds))
            for kind in present:
                with _flooding(server, shapes[kind], seconds + 2) as loads:
                    bodies_now = gate_bodies(fresh(GATE_RATE * (int(seconds) + 2)))
                    _pace(server, secret, bodies_now[: GATE_RATE // 2], GATE_RATE, 0.5)  # ramp
                    gate = _pace(server, secret, bodies_now[GATE_RATE // 2 :], GATE_RATE, seconds)
                found.floods.setdefault(kind, []).append(Flood(gate, loads[0] if loads else None))
    return found
