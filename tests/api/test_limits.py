"""Request limits: rate limits per client address and per gate (429 with Retry-After), JSON
bodies only (415), the configured body size (413), and the limiter's bounded memory."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from gymgate.api import create_app
from gymgate.api.windows import DEFAULT_CAPACITY, WindowCounter
from gymgate.clock import FrozenClock
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.api.helpers import new_pass, running
from tests.conftest import START

LIMIT = 3


@pytest.fixture
def limited(settings: Settings, clock: FrozenClock) -> Litestar:
    return create_app(
        settings.replace(rate_limit_per_minute=LIMIT, write_limit_per_minute=LIMIT), clock=clock
    )


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


async def test_verify_is_not_rate_limited_by_default(
    client: AsyncTestClient[Litestar], gate_secret: str
) -> None:
    """Turnstiles often share one address: /verify has no budget unless one is configured."""
    headers = {"Authorization": f"Bearer {gate_secret}"}
    responses = [
        await client.post("/verify", json={"token": "x"}, headers=headers) for _ in range(80)
    ]

    assert {r.status_code for r in responses} == {200}


async def test_the_write_endpoints_have_a_budget_by_default(
    settings: Settings, clock: FrozenClock
) -> None:
    default = Settings().write_limit_per_minute
    async with running(create_app(settings, clock=clock)) as client_at:
        flooding = client_at("203.0.113.9")
        allowed = [await _pay(flooding, n) for n in range(default)]
        refused = await _pay(flooding, default)
        clock.advance(60)
        next_minute = await _pay(flooding, default + 1)

    assert {r.status_code for r in allowed} == {201}
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert next_minute.status_code == 201


async def test_write_limits_can_be_turned_off(settings: Settings, clock: FrozenClock) -> None:
    app = create_app(settings.replace(write_limit_per_minute=0), clock=clock)
    async with AsyncTestClient(app=app) as client:
        responses = [
            await client.post("/create_payment", json={"email": f"v{n}@example.com"})
            for n in range(Settings().write_limit_per_minute + 5)
        ]

    assert {r.status_code for r in responses} == {201}


async def test_the_verify_budget_works_with_the_write_budget_off(
    settings: Settings, clock: FrozenClock, gate_secret: str
) -> None:
    app = create_app(
        settings.replace(write_limit_per_minute=0, rate_limit_per_minute=LIMIT), clock=clock
    )
    headers = {"Authorization": f"Bearer {gate_secret}"}
    async with running(app) as client_at:
        client = client_at("203.0.113.10")
        payments = [await _pay(client, n) for n in range(LIMIT + 2)]
        scans = [
            await client.post("/verify", json={"token": "x"}, headers=headers)
            for _ in range(LIMIT + 1)
        ]

    assert {r.status_code for r in payments} == {201}
    assert [r.status_code for r in scans] == [200] * LIMIT + [429]


def test_the_limiter_holds_at_most_its_capacity_of_addresses() -> None:
    counter = WindowCounter(60.0, capacity=DEFAULT_CAPACITY)
    for n in range(50_000):
        counter.add(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", now=START)

    assert len(counter) == DEFAULT_CAPACITY
    assert counter.count("10.0.195.79", START) == 1  # the newest stays
    assert counter.count("10.0.0.0", START) == 0  # the oldest went


def test_a_window_counts_again_from_zero_once_it_has_passed() -> None:
    counter = WindowCounter(60.0)
    counts = [counter.add("a", START + t) for t in (0, 1, 59)]

    assert counts == [1, 2, 3]
    assert counter.retry_after("a", START + 59.5) == 1
    assert counter.count("a", START + 60) == 0
    assert counter.add("a", START + 60) == 1


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
