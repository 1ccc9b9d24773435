"""GET /metrics: Prometheus text with gate decisions by result and reason, verify latency,
issued tokens, signing keys by status and refused credentials by kind, next to Litestar's
per-route HTTP metrics (which record the status actually sent, refusals by middleware too)."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.keystore import KeyStore
from gymgate.metrics import record_keys
from gymgate.settings import Settings
from tests.api.helpers import new_pass, scan
from tests.conftest import ADMIN_TOKEN

Client = AsyncTestClient[Litestar]


async def samples(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics by name and labels (counters are process-wide, so tests
    compare before and after)."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def decisions(result: str, reason: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return ("gymgate_verify_decisions_total", frozenset({("result", result), ("reason", reason)}))


def plain(name: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset())


async def test_a_verify_is_counted_by_result_and_reason(client: Client, gate_secret: str) -> None:
    issued = await new_pass(client)
    before = await samples(client)

    await scan(client, gate_secret, issued["token"])
    await scan(client, gate_secret, issued["token"])
    await scan(client, gate_secret, "not-a-token")
    after = await samples(client)

    def delta(key: tuple[str, frozenset[tuple[str, str]]]) -> float:
        return after[key] - before[key]

    assert delta(decisions("allow", "none")) == 1
    assert delta(decisions("deny", "already_used")) == 1
    assert delta(decisions("deny", "malformed")) == 1
    assert delta(decisions("deny", "expired")) == 0
    assert delta(plain("gymgate_verify_duration_seconds_count")) == 3
    assert delta(plain("gymgate_verify_duration_seconds_sum")) > 0


async def test_issued_tokens_are_counted(client: Client) -> None:
    before = await samples(client)

    await new_pass(client)
    after = await samples(client)

    issued = plain("gymgate_tokens_issued_total")
    assert after[issued] - before[issued] == 1


async def test_keys_are_counted_by_status(client: Client) -> None:
    scraped = await samples(client)

    def keys(status: str) -> float:
        return scraped[("gymgate_signing_keys", frozenset({("status", status)}))]

    assert (keys("active"), keys("verify-only"), keys("retired")) == (1, 0, 0)


def test_the_key_gauge_follows_rotation_and_retirement(keys_dir: Path) -> None:
    store = KeyStore(keys_dir)
    first = store.load().entries[0].kid
    store.rotate(FrozenClock(0))
    store.rotate(FrozenClock(1))
    store.retire(first)

    record_keys(store.load())

    counts = {
        status: REGISTRY.get_sample_value("gymgate_signing_keys", {"status": status})
        for status in ("active", "verify-only", "retired")
    }
    assert counts == {"active": 1, "verify-only": 1, "retired": 1}


async def test_http_requests_are_measured_per_route_template_except_the_gate(
    client: Client, gate_secret: str
) -> None:
    await client.get("/payments/pay_unknown")
    await scan(client, gate_secret, "not-a-token")

    scraped = await samples(client)

    routes = {
        dict(labels).get("path") for name, labels in scraped if name.startswith("gymgate_http")
    }
    assert "/payments/{payment_id}" in routes
    assert "/payments/pay_unknown" not in routes
    assert "/verify" not in routes  # counted and timed by gymgate_verify_* instead


def http_requests(path: str, status: int) -> tuple[str, frozenset[tuple[str, str]]]:
    labels = {("app_name", "gymgate"), ("method", "POST"), ("path", path)}
    return ("gymgate_http_requests_total", frozenset({*labels, ("status_code", str(status))}))


def auth_failures(kind: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return ("gymgate_auth_failures_total", frozenset({("kind", kind)}))


async def test_a_415_is_counted_as_415_not_200(client: Client) -> None:
    before = await samples(client)

    refused = await client.post(
        "/create_payment", content=b"email=a@b.c", headers={"content-type": "text/plain"}
    )
    after = await samples(client)

    def delta(status: int) -> float:
        key = http_requests("/create_payment", status)
        return after.get(key, 0) - before.get(key, 0)

    assert refused.status_code == 415
    assert (delta(415), delta(200)) == (1, 0)


async def test_a_429_is_counted_as_429_not_200(settings: Settings, clock: FrozenClock) -> None:
    app = create_app(settings.replace(write_limit_per_minute=1), clock=clock)
    async with AsyncTestClient(app=app) as client:
        before = await samples(client)

        answers = [
            (await client.post("/generate_qr", json={"payment_id": "pay_nope"})).status_code
            for _ in range(2)
        ]
        after = await samples(client)

    def delta(status: int) -> float:
        key = http_requests("/generate_qr", status)
        return after.get(key, 0) - before.get(key, 0)

    assert answers == [404, 429]
    assert (delta(404), delta(429), delta(200)) == (1, 1, 0)


async def test_refused_gate_and_admin_credentials_are_counted_by_kind(
    client: Client, gate_secret: str
) -> None:
    before = await samples(client)

    statuses = [
        (await client.post("/verify", json={"token": "x"})).status_code,
        (await client.post("/verify", json={"token": "x"}, headers=bearer("wrong"))).status_code,
        (await client.get("/audit")).status_code,
        (await client.get("/audit", headers=bearer("wrong-admin-token"))).status_code,
        (await client.get("/audit", headers=bearer("another-wrong-one"))).status_code,
    ]
    await scan(client, gate_secret, "not-a-token")  # accepted credentials are not counted
    (await client.get("/audit", headers=bearer(ADMIN_TOKEN))).raise_for_status()
    after = await samples(client)

    def delta(kind: str) -> float:
        return after.get(auth_failures(kind), 0) - before.get(auth_failures(kind), 0)

    assert statuses == [401, 401, 401, 403, 403]
    assert (delta("gate"), delta("admin")) == (2, 3)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
