"""GET /metrics: Prometheus text with gate decisions by result and reason, verify latency,
issued tokens and signing keys by status, next to Litestar's per-route HTTP metrics."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gymgate.clock import FrozenClock
from gymgate.keystore import KeyStore
from gymgate.metrics import record_keys
from tests.api.helpers import new_pass, scan

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
