"""At most once whatever the clocks and settings: three servers on one database, one of them
25 s fast (libfaketime), one with a 120 s leeway and one with none, sweeping every second.
A 5-second pass scanned at all three for 15 s admits exactly once and every scan is
audited; a server whose clock is off by more than its leeway says so on /ready; a token that
lives longer than any pass is refused whatever its signature."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from testkit.cluster import add_gates, read_audit
from testkit.faketime import faketime_env
from testkit.live_server import LiveServer, server_env

from gymgate.keystore import KeyStore
from gymgate.settings import Settings
from gymgate.tokens import issue_token

pytestmark = pytest.mark.e2e

SCAN_SECONDS = 15.0
STARTUP_SECONDS = 120.0  # three servers starting at once on a busy 2-core machine
PASSES = 3
FAR_FUTURE = 253_402_300_799  # 9999-12-31T23:59:59Z


def _servers(tmp_path: Path, settings: Settings) -> dict[str, dict[str, str]]:
    """Name → environment of each server: the clock, leeway and TTL each is started with."""
    base = server_env(settings, GYMGATE_LOG_LEVEL="WARNING", GYMGATE_CLEANUP_INTERVAL_SECONDS="1")
    return {
        "fast": {**base, **faketime_env(25)},  # default leeway 30: its clock is "within" it
        "lenient": {**base, "GYMGATE_LEEWAY_SECONDS": "120"},
        "strict": {**base, "GYMGATE_LEEWAY_SECONDS": "0", "GYMGATE_PASS_TTL_SECONDS": "5"},
    }


@pytest.fixture
def gates(settings: Settings) -> dict[str, str]:
    """Made before the servers start (they cache the gate secrets)."""
    return asyncio.run(add_gates(settings.database_url, 3, settings.keys_dir))


@pytest.fixture
def servers(tmp_path: Path, settings: Settings, gates: dict[str, str]) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        started = {}
        for name, env in _servers(tmp_path, settings).items():
            server = LiveServer(tmp_path, env, startup_timeout=STARTUP_SECONDS)
            stack.callback(server.stop)
            started[name] = server.spawn()
        for server in started.values():
            server.wait_until_healthy()
        yield {name: server.url for name, server in started.items()}


async def _issue(client: httpx.AsyncClient, url: str, count: int) -> list[str]:
    tokens = []
    for number in range(count):
        payment = await client.post(url + "/create_payment", json={"email": f"c{number}@ex.com"})
        issued = await client.post(
            url + "/generate_qr", json={"payment_id": payment.json()["payment_id"]}
        )
        assert issued.status_code == 201, issued.text
        tokens.append(issued.json()["token"])
    return tokens


async def _scan(
    client: httpx.AsyncClient, url: str, secret: str, token: str
) -> tuple[int, dict[str, str]]:
    response = await client.post(
        url + "/verify", json={"token": token}, headers={"Authorization": f"Bearer {secret}"}
    )
    return response.status_code, response.json()


async def test_a_five_second_pass_admits_once_across_clocks_and_leeways(
    servers: dict[str, str], gates: dict[str, str], settings: Settings
) -> None:
    secrets = list(gates.values())
    async with httpx.AsyncClient(timeout=30) as client:
        tokens = await _issue(client, servers["strict"], PASSES)  # the 5-second TTL
        answers: list[tuple[int, dict[str, str]]] = []
        deadline = time.monotonic() + SCAN_SECONDS
        while time.monotonic() < deadline:  # every pass at every server, round after round
            answers += await asyncio.gather(
                *(
                    _scan(client, url, secrets[number], token)
                    for token in tokens
                    for number, url in enumerate(servers.values())
                )
            )
            await asyncio.sleep(0.2)  # pacing the rounds, not waiting for an outcome

    assert {status for status, _ in answers} == {200}
    allowed = Counter(body["pass_id"] for _, body in answers if body["status"] == "allow")
    assert len(allowed) == PASSES
    assert set(allowed.values()) == {1}  # exactly once each, whoever's clock
    reasons = Counter(body.get("reason") for _, body in answers if body["status"] == "deny")
    assert set(reasons) <= {"already_used", "expired", "not_yet_valid"}
    audit = await read_audit(settings.database_url)
    assert len(audit) == len(answers)  # every scan audited, once
    assert Counter(row.result for row in audit)["allow"] == PASSES


async def test_a_server_whose_clock_is_off_by_more_than_its_leeway_is_not_ready(
    tmp_path: Path, settings: Settings
) -> None:
    env = server_env(settings, GYMGATE_LEEWAY_SECONDS="30", **faketime_env(60))
    with LiveServer(tmp_path, env, startup_timeout=STARTUP_SECONDS) as fast:
        async with httpx.AsyncClient(base_url=fast.url, timeout=30) as client:
            ready = await client.get("/ready")
            health = await client.get("/health")

        log = fast.log()

    assert health.status_code == 200  # up, but
    assert ready.status_code == 503
    assert "clock" in ready.json()["detail"]
    assert "30 s leeway" in ready.json()["detail"]
    assert "clock is" in log
    assert "ahead of the database's" in log


async def test_a_token_living_longer_than_any_pass_is_invalid_claims_over_http(
    tmp_path: Path, settings: Settings, gates: dict[str, str]
) -> None:
    now = int(time.time())
    token = issue_token(
        KeyStore(settings.keys_dir).load(),  # the server's own key: the signature is good
        issuer=settings.issuer,
        pass_id="pass_forever0000",
        user_id="user_forever0000",
        issued_at=now,
        expires_at=FAR_FUTURE,
    )
    with LiveServer(tmp_path, server_env(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            status, body = await _scan(client, "", next(iter(gates.values())), token)

    assert status == 200
    assert body == {"status": "deny", "reason": "invalid_claims"}
    audit = await read_audit(settings.database_url)
    assert [(row.result, row.reason) for row in audit] == [("deny", "invalid_claims")]
