"""POST /webhooks/payment with the Stripe-compatible provider: signed events move payments
forward exactly once, whatever arrives forged, stale, twice or out of order."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.payments.stripe import HttpRequest, StripeProvider, signature_header
from gymgate.settings import Settings
from tests.api.helpers import scan

Client = AsyncTestClient[Litestar]
SECRET = "whsec_test_secret"


class FakeCheckout:
    """A Stripe-compatible API that opens numbered checkout sessions."""

    def __init__(self) -> None:
        self.opened = 0

    async def __call__(self, request: HttpRequest) -> tuple[int, bytes]:
        self.opened += 1
        session = {"id": f"cs_test_{self.opened}", "url": f"https://pay.example/{self.opened}"}
        return 200, json.dumps(session).encode()


@pytest.fixture
async def client(settings: Settings, clock: FrozenClock) -> AsyncIterator[Client]:
    stripe = StripeProvider(
        secret_key="sk_test_key",
        webhook_secret=SECRET,
        success_url="https://gym.example/paid",
        transport=FakeCheckout(),
    )
    async with AsyncTestClient(app=create_app(settings, clock=clock, provider=stripe)) as test:
        yield test


def event(event_id: str, kind: str, **item: Any) -> bytes:
    return json.dumps({"id": event_id, "type": kind, "data": {"object": item}}).encode()


def paid(event_id: str, checkout: str = "cs_test_1") -> bytes:
    return event(
        event_id,
        "checkout.session.completed",
        id=checkout,
        payment_status="paid",
        payment_intent="pi_" + checkout,
    )


def refunded(event_id: str, checkout: str = "cs_test_1") -> bytes:
    return event(
        event_id, "charge.refunded", id="ch_1", refunded=True, payment_intent="pi_" + checkout
    )


async def deliver(
    client: Client, body: bytes, clock: FrozenClock, *, secret: str = SECRET, age: int = 0
) -> Any:
    header = signature_header(body, secret, int(clock.now()) - age)
    return await client.post(
        "/webhooks/payment", content=body, headers={"Stripe-Signature": header}
    )


async def checkout(client: Client) -> dict[str, Any]:
    response = await client.post("/create_payment", json={"email": "ana@example.com"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def status_of(client: Client, payment_id: str) -> str:
    status: str = (await client.get(f"/payments/{payment_id}")).json()["status"]
    return status


async def test_create_payment_answers_pending_with_the_checkout_url(client: Client) -> None:
    payment = await checkout(client)

    assert payment["status"] == "pending"
    assert payment["checkout_url"] == "https://pay.example/1"
    qr = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
    assert qr.status_code == 402


async def test_a_signed_completed_event_completes_the_payment(
    client: Client, clock: FrozenClock
) -> None:
    payment = await checkout(client)

    response = await deliver(client, paid("evt_1"), clock)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "outcome": "applied"}
    assert await status_of(client, payment["payment_id"]) == "completed"
    qr = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
    assert qr.status_code == 201


async def test_a_forged_event_is_rejected_and_changes_nothing(
    client: Client, clock: FrozenClock
) -> None:
    payment = await checkout(client)

    forged = await deliver(client, paid("evt_1"), clock, secret="whsec_guessed")
    unsigned = await client.post("/webhooks/payment", content=paid("evt_2"))

    assert forged.status_code == 400
    assert "signature" in forged.json()["detail"]
    assert unsigned.status_code == 400
    assert "Stripe-Signature" in unsigned.json()["detail"]
    assert await status_of(client, payment["payment_id"]) == "pending"


async def test_a_stale_event_is_rejected(client: Client, clock: FrozenClock) -> None:
    payment = await checkout(client)

    response = await deliver(client, paid("evt_1"), clock, age=301)

    assert response.status_code == 400
    assert "stale or replayed" in response.json()["detail"]
    assert await status_of(client, payment["payment_id"]) == "pending"


async def test_a_replayed_event_is_acknowledged_and_applied_only_once(
    client: Client, clock: FrozenClock
) -> None:
    payment = await checkout(client)
    await deliver(client, paid("evt_1"), clock)
    await deliver(client, refunded("evt_2"), clock)
    clock.advance(60)

    resent = await deliver(client, paid("evt_1"), clock)  # the provider re-sends, signed anew
    captured = await deliver(client, paid("evt_1"), clock, age=60)  # the same request, replayed

    assert resent.json() == {"received": True, "outcome": "duplicate"}
    assert captured.json() == {"received": True, "outcome": "duplicate"}
    assert await status_of(client, payment["payment_id"]) == "refunded"
    clock.advance(3600)
    stale = await deliver(client, paid("evt_1"), clock, age=3660)
    assert stale.status_code == 400  # and once outside the tolerance it is not even read


async def test_a_refund_event_revokes_the_pass(
    client: Client, clock: FrozenClock, gate_secret: str
) -> None:
    payment = await checkout(client)
    await deliver(client, paid("evt_1"), clock)
    qr = (await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})).json()

    response = await deliver(client, refunded("evt_2"), clock)

    assert response.json()["outcome"] == "applied"
    assert await status_of(client, payment["payment_id"]) == "refunded"
    assert (await scan(client, gate_secret, qr["token"]))["reason"] == "revoked"


async def test_completed_after_refunded_does_not_move_the_payment_back(
    client: Client, clock: FrozenClock
) -> None:
    payment = await checkout(client)
    await deliver(client, paid("evt_1"), clock)
    await deliver(client, refunded("evt_2"), clock)

    late = event(
        "evt_3",
        "checkout.session.async_payment_succeeded",
        id="cs_test_1",
        payment_intent="pi_cs_test_1",
    )
    response = await deliver(client, late, clock)

    assert response.json() == {"received": True, "outcome": "out_of_order"}
    assert await status_of(client, payment["payment_id"]) == "refunded"


async def test_failed_after_completed_is_ignored(client: Client, clock: FrozenClock) -> None:
    payment = await checkout(client)
    await deliver(client, paid("evt_1"), clock)

    expired = event("evt_2", "checkout.session.expired", id="cs_test_1")
    response = await deliver(client, expired, clock)

    assert response.json()["outcome"] == "out_of_order"
    assert await status_of(client, payment["payment_id"]) == "completed"


async def test_a_refund_that_overtakes_its_payment_is_applied_on_the_providers_retry(
    client: Client, clock: FrozenClock
) -> None:
    payment = await checkout(client)

    early = await deliver(client, refunded("evt_2"), clock)
    await deliver(client, paid("evt_1"), clock)
    retried = await deliver(client, refunded("evt_2"), clock)

    assert early.status_code == 404  # not recorded: the provider will send it again
    assert retried.json()["outcome"] == "applied"
    assert await status_of(client, payment["payment_id"]) == "refunded"


async def test_events_gymgate_does_not_act_on_are_acknowledged(
    client: Client, clock: FrozenClock
) -> None:
    response = await deliver(client, event("evt_9", "customer.created", id="cus_1"), clock)

    assert response.json() == {"received": True, "outcome": "ignored"}


async def test_the_mock_provider_has_no_webhooks(settings: Settings, clock: FrozenClock) -> None:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as mock_client:
        response = await deliver(mock_client, paid("evt_1"), clock)

    assert response.status_code == 404
    assert "mock" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [b"t=\xb2,v1=00", b"t=" + b"9" * 4300 + b",v1=00", b"t=\xd9\xa3,v1=00", b"t=,v1=00"],
    ids=["superscript-two", "4300-digits", "arabic-indic-digit", "empty"],
)
async def test_a_signature_timestamp_that_is_not_ascii_unix_time_is_400(
    client: Client, caplog: pytest.LogCaptureFixture, header: bytes
) -> None:
    response = await client.post(
        "/webhooks/payment", content=paid("evt_1"), headers={b"Stripe-Signature": header}
    )

    assert response.status_code == 400, response.text
    assert "Stripe-Signature" in response.json()["detail"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_signed_event_nested_thousands_deep_is_400(
    client: Client, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused before the signature is checked, and read_event would refuse it too."""
    deep = b'{"id": "evt_1", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}"

    response = await deliver(client, deep, clock)

    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["detail"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
