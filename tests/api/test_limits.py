"""Request limits: rate limits per client address and per gate (429 with Retry-After), JSON
bodies only (415), and the configured body size (413)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.api.helpers import new_pass

LIMIT = 3
ClientAt = Callable[[str], httpx.AsyncClient]


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[ClientAt]:
    """The app started once; `client_at(ip)` talks to it from that client address."""
    clients: list[httpx.AsyncClient] = []

    def client_at(address: str) -> httpx.AsyncClient:
        # Litestar types its ASGI callable more narrowly than httpx expects; it is one.
        transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://gymgate.test"))
        return clients[-1]

    async with AsyncTestClient(app=app):  # runs the lifespan
        try:
            yield client_at
        finally:
            for client in clients:
                await client.aclose()


@pytest.fixture
def limited(settings: Settings, clock: FrozenClock) -> Litestar:
    return create_app(settings.replace(rate_limit_per_minute=LIMIT), clock=clock)


async def _audit_count(runtime: Runtime) -> int:
    async with runtime.storage.writing() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-limit"] == str(LIMIT)
    assert "too many requests" in response.json()["detail"]


async def _pay(client: httpx.AsyncClient, number: int) -> httpx.Response:
    return await client.post("/create_payment", json={"email": f"m{number}@example.com"})


async def test_a_client_over_its_budget_gets_429_with_retry_after(limited: Litestar) -> None:
    async with running(limited) as client_at:
        first = client_at("203.0.113.7")
        allowed = [await _pay(first, n) for n in range(LIMIT)]
        refused = await _pay(first, LIMIT)
        other_client = await _pay(client_at("203.0.113.8"), 99)
        other_endpoint = await first.post("/generate_qr", json={"payment_id": "pay_nope"})

    assert [r.status_code for r in allowed] == [201] * LIMIT
    assert_rate_limited(refused)
    assert other_client.status_code == 201  # budgets are per client address
    assert other_endpoint.status_code == 404  # and per endpoint


async def test_verify_is_limited_per_gate_and_per_client_address(
    limited: Litestar, runtime: Runtime, clock: FrozenClock
) -> None:
    busy = await runtime.gates.add("busy-gate")
    quiet = await runtime.gates.add("quiet-gate")

    async def scan(address: str, secret: str) -> httpx.Response:
        return await client_at(address).post(
            "/verify", json={"token": "x"}, headers={"Authorization": f"Bearer {secret}"}
        )

    async with running(limited) as client_at:
        # One gate seen from four addresses: its own budget runs out.
        busy_scans = [await scan(f"198.51.100.{n}", busy) for n in range(LIMIT + 1)]
        quiet_scan = await scan("198.51.100.200", quiet)
        # One address trying many credentials: the address's budget runs out.
        guesses = [await scan("192.0.2.66", f"guess-{n}") for n in range(LIMIT + 1)]

    assert [r.status_code for r in busy_scans[:LIMIT]] == [200] * LIMIT
    assert_rate_limited(busy_scans[LIMIT])
    assert quiet_scan.status_code == 200
    assert [r.status_code for r in guesses[:LIMIT]] == [401] * LIMIT
    assert_rate_limited(guesses[LIMIT])
    assert await _audit_count(runtime) == LIMIT + 1  # a refused scan is not an attempt


async def test_rate_limits_are_off_by_default(client: AsyncTestClient[Litestar]) -> None:
    responses = [
        await client.post("/create_payment", json={"email": f"v{n}@example.com"}) for n in range(12)
    ]

    assert {r.status_code for r in responses} == {201}


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", b'{"email": "a@example.com"}'),
        ("application/x-www-form-urlencoded", b"email=a%40example.com"),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="e"'),
        ("application/xml", b"<email>a@example.com</email>"),
    ],
    ids=["text", "form", "multipart", "xml"],
)
async def test_a_body_that_is_not_declared_json_is_415_with_detail(
    client: AsyncTestClient[Litestar], content_type: str, content: bytes
) -> None:
    response = await client.post(
        "/create_payment", content=content, headers={"content-type": content_type}
    )

    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]


async def test_a_verify_body_that_is_not_json_is_415_and_not_audited(
    client: AsyncTestClient[Litestar], gate_secret: str, runtime: Runtime
) -> None:
    response = await client.post(
        "/verify",
        content=json.dumps({"token": "x"}),
        headers={"content-type": "text/plain", "authorization": f"Bearer {gate_secret}"},
    )

    assert response.status_code == 415
    assert await _audit_count(runtime) == 0


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "application/json; charset=utf-8"}, {"content-type": "application/json"}],
)
async def test_json_content_types_are_accepted(
    client: AsyncTestClient[Litestar], headers: dict[str, str]
) -> None:
    response = await client.post(
        "/create_payment", content=b'{"email": "j@example.com"}', headers=headers
    )

    assert response.status_code == 201, response.text


async def test_the_body_limit_is_configurable(settings: Settings, clock: FrozenClock) -> None:
    app = create_app(settings.replace(max_body_bytes=1024), clock=clock)
    async with AsyncTestClient(app=app) as client:
        small = await client.post("/create_payment", json={"email": "s@example.com", "name": "S"})
        big = await client.post(
            "/create_payment", json={"email": "b@example.com", "name": "x" * 2000}
        )

    assert small.status_code == 201
    assert big.status_code == 413
    assert big.json()["detail"]


async def test_a_pass_can_still_be_bought_and_scanned_under_a_limit(
    limited: Litestar, runtime: Runtime, clock: FrozenClock
) -> None:
    """The limit refuses floods, not members: one purchase and one scan fit easily."""
    secret = await runtime.gates.add("front")
    async with AsyncTestClient(app=limited) as client:
        issued: dict[str, Any] = await new_pass(client)
        scanned = await client.post(
            "/verify",
            json={"token": issued["token"]},
            headers={"Authorization": f"Bearer {secret}"},
        )

    assert scanned.json()["status"] == "allow"
