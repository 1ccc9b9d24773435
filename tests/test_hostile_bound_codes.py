"""Hostile codes of bound passes (tests/binding_cases.py) at every Python verifier: /verify,
`gymgate verify` and the gate agent, online and offline. Each gets its exact decision, and
an audit row that holds neither the token nor the proof.

Moving a pass to another phone needs the server's state, so it is tested as a member does
it: re-issued with another phone's key, the old phone's codes are revoked online at once,
and offline once the gate has synced.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.testing import transport as litestar_transport
from sqlalchemy import select
from testkit.phones import Phone

from gymgate.api import create_app
from gymgate.cli import main
from gymgate.clock import FrozenClock
from gymgate.decisions import token_fingerprint
from gymgate.gate import Agent, GateClient, LocalStore, sync_round
from gymgate.gate.agent import AgentOptions
from gymgate.keystore import KeySet, KeyStore
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.api.helpers import pay, scan
from tests.binding_cases import BindingCase, build_cases

Client = AsyncTestClient[Litestar]
BASE = "http://gymgate.test"


@pytest.fixture
def keyset(keys_dir: Path) -> KeySet:
    return KeyStore(keys_dir).load()


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Litestar:
    return create_app(settings.replace(binding_mode="device"), clock=clock)


@pytest.fixture
async def agent(
    client: Client, gate_secret: str, tmp_path: Path
) -> AsyncIterator[tuple[Agent, GateClient, LocalStore]]:
    """A gate agent talking to the app in-process, through the test client's transport (the
    app runs on that client's event loop, where its database connections live)."""
    transport = ViaTestClient(client)
    gate = GateClient(BASE, gate_secret, timeout=5, sync_timeout=5, transport=transport)
    store = LocalStore(tmp_path / "gate")
    try:
        yield Agent(gate, store, AgentOptions()), gate, store
    finally:
        await gate.close()
        store.close()


class ViaTestClient(httpx.AsyncBaseTransport):
    """httpx's transport interface over Litestar's test transport (which lacks aclose)."""

    def __init__(self, client: Client) -> None:
        self._inner = litestar_transport.TestClientTransport(client)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)


def stateless(cases: list[BindingCase], *, with_boundary: bool) -> list[BindingCase]:
    """The cases a verifier decides from the code alone (moves need the server's state)."""
    return [c for c in cases if not c.rebound and (with_boundary or not c.boundary)]


def expected(case: BindingCase) -> tuple[str, str | None]:
    return case.status, case.reason


async def test_http_verify_gives_each_hostile_code_its_reason_and_one_clean_audit_row(
    client: Client, gate_secret: str, keyset: KeySet, clock: FrozenClock, runtime: Runtime
) -> None:
    cases = stateless(build_cases(keyset, int(clock.now())), with_boundary=True)
    answered = {}
    for case in cases:
        body = await scan(client, gate_secret, case.scanned)
        answered[case.name] = (body["status"], body.get("reason"))

    assert answered == {case.name: expected(case) for case in cases}
    async with runtime.storage.reading() as session:
        rows = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [row.token_sha256 for row in rows] == [token_fingerprint(c.scanned) for c in cases]
    for row, case in zip(rows, cases, strict=True):
        stored = " ".join(str(value) for value in vars(row).values())
        for part in case.scanned.replace("~", ".").split("."):
            assert len(part) < 20 or part not in stored, case.name


def test_gymgate_verify_gives_each_hostile_code_its_reason(keyset: KeySet, tmp_path: Path) -> None:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(keyset.jwks()))
    # `gymgate verify` reads this machine's clock: no case sits on the window's edge.
    cases = stateless(build_cases(keyset, int(time.time())), with_boundary=False)
    answered, exits = {}, {}
    for case in cases:
        result = CliRunner().invoke(main, ["verify", case.scanned, "--jwks", str(jwks_file)])
        body = json.loads(result.output)
        answered[case.name] = (body["status"], body.get("reason"))
        exits[case.name] = result.exit_code

    assert answered == {case.name: expected(case) for case in cases}
    assert exits == {case.name: 0 if case.reason is None else 1 for case in cases}


def test_gymgate_verify_takes_a_wider_proof_window(keyset: KeySet, tmp_path: Path) -> None:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(keyset.jwks()))
    [stale] = [c for c in build_cases(keyset, int(time.time())) if c.name == "stale_screenshot"]

    wide = CliRunner().invoke(
        main, ["verify", stale.scanned, "--jwks", str(jwks_file), "--proof-window", "120"]
    )
    refused = CliRunner().invoke(
        main, ["verify", stale.scanned, "--jwks", str(jwks_file), "--proof-window", "301"]
    )

    assert (wide.exit_code, json.loads(wide.output)["status"]) == (0, "allow")
    assert refused.exit_code == 2
    assert "--proof-window" in refused.output


async def test_the_agent_gives_each_hostile_code_its_reason_online_and_offline(
    agent: tuple[Agent, GateClient, LocalStore], keyset: KeySet, clock: FrozenClock
) -> None:
    gate_agent, gate, store = agent
    await sync_round(gate, store)
    online_cases = stateless(build_cases(keyset, int(clock.now())), with_boundary=True)
    # Offline the agent reads this machine's clock, moved to the server's by the last sync.
    offline_cases = stateless(build_cases(keyset, int(clock.now())), with_boundary=False)

    online = {c.name: await gate_agent.decide(c.scanned) for c in online_cases}
    offline = {c.name: await gate_agent.decide_offline(c.scanned) for c in offline_cases}

    assert {n: (a["status"], a.get("reason"), a["mode"]) for n, a in online.items()} == {
        c.name: (*expected(c), "online") for c in online_cases
    }
    # The online allows were recorded at this gate: offline, those passes are used.
    assert {n: (a["status"], a.get("reason"), a["mode"]) for n, a in offline.items()} == {
        c.name: ("deny", "already_used", "offline")
        if c.reason is None
        else (*expected(c), "offline")
        for c in offline_cases
    }


async def test_a_moved_pass_is_revoked_online_at_once_and_offline_after_the_next_sync(
    client: Client,
    agent: tuple[Agent, GateClient, LocalStore],
    gate_secret: str,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    gate_agent, gate, store = agent
    old, new = Phone(), Phone("P-256")
    payment = await pay(client)
    first = await issue(client, payment["payment_id"], old)
    await sync_round(gate, store)
    moved = await issue(client, payment["payment_id"], new)
    old_code = old.show(first["token"], first["pass_id"], clock.now())
    new_code = new.show(moved["token"], moved["pass_id"], clock.now())

    assert (await scan(client, gate_secret, old_code))["reason"] == "revoked"
    # Offline, before the gate synced: it cannot know yet (the README says so).
    assert (await gate_agent.decide_offline(old_code))["status"] == "allow"

    other_store = LocalStore(tmp_path / "gate-2")  # a gate that syncs after the move
    try:
        await sync_round(gate, other_store)
        later = Agent(gate, other_store, AgentOptions())
        assert (await later.decide_offline(old_code))["reason"] == "revoked"
        assert (await later.decide_offline(new_code))["status"] == "allow"
    finally:
        other_store.close()
    state = await client.get("/gate/state", headers={"Authorization": f"Bearer {gate_secret}"})
    assert state.json()["rebound"] == [{"pass_id": moved["pass_id"], "jkt": new.jkt}]
    assert state.json()["proof_window_seconds"] == 30


async def test_an_uploaded_offline_admission_of_a_moved_pass_is_a_revoked_conflict(
    client: Client,
    agent: tuple[Agent, GateClient, LocalStore],
    gate_secret: str,
    clock: FrozenClock,
) -> None:
    gate_agent, gate, store = agent
    old, new = Phone(), Phone()
    payment = await pay(client)
    first = await issue(client, payment["payment_id"], old)
    await sync_round(gate, store)
    moved = await issue(client, payment["payment_id"], new)
    old_code = old.show(first["token"], first["pass_id"], clock.now())
    assert (await gate_agent.decide_offline(old_code))["status"] == "allow"

    result = await sync_round(gate, store)

    assert (result.uploaded, result.conflicts) == (1, 1)
    # The pass stayed unused: the member's new phone still gets in.
    new_code = new.show(moved["token"], moved["pass_id"], clock.now())
    assert (await scan(client, gate_secret, new_code))["status"] == "allow"


async def issue(client: Client, payment_id: str, phone: Phone) -> dict[str, str]:
    response = await client.post(
        "/generate_qr", json={"payment_id": payment_id, "device_key": phone.jwk}
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body
