"""The Stripe-compatible provider: checkout through a fake transport, signatures built here."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from gymgate.errors import InvalidInput
from gymgate.payments import ProviderError, WebhookRejected
from gymgate.payments.stripe import (
    HttpRequest,
    StripeProvider,
    read_event,
    sign,
    signature_header,
    verify_signature,
)
from tests.conftest import START

SECRET = "whsec_test_secret"
NOW = int(START)


class FakeStripe:
    """Answers like the Stripe API would, from canned bodies; records every request."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.requests: list[HttpRequest] = []

    async def __call__(self, request: HttpRequest) -> tuple[int, bytes]:
        self.requests.append(request)
        status, body = self.answers.pop(0)
        return status, json.dumps(body).encode()

    def form(self, index: int = 0) -> dict[str, str]:
        body = self.requests[index].body or b""
        return {key: values[0] for key, values in parse_qs(body.decode()).items()}


def provider(transport: FakeStripe) -> StripeProvider:
    return StripeProvider(
        secret_key="sk_test_key",
        webhook_secret=SECRET,
        success_url="https://gym.example/paid",
        api_base="https://stripe.example",
        transport=transport,
    )


def event_body(kind: str = "checkout.session.completed", **item: Any) -> bytes:
    item.setdefault("id", "cs_test_1")
    return json.dumps({"id": "evt_1", "type": kind, "data": {"object": item}}).encode()


async def test_charge_opens_a_checkout_session_and_is_pending() -> None:
    stripe = FakeStripe((200, {"id": "cs_test_1", "url": "https://checkout.example/cs_test_1"}))

    charge = await provider(stripe).charge(
        amount_cents=1500, currency="EUR", email="ana@example.com", simulate=None
    )

    assert (charge.reference, charge.status) == ("cs_test_1", "pending")
    assert charge.checkout_url == "https://checkout.example/cs_test_1"
    sent = stripe.requests[0]
    assert (sent.method, sent.url) == ("POST", "https://stripe.example/v1/checkout/sessions")
    assert sent.headers["Authorization"] == "Bearer sk_test_key"
    assert sent.headers["Idempotency-Key"]
    assert stripe.form() == {
        "mode": "payment",
        "customer_email": "ana@example.com",
        "success_url": "https://gym.example/paid",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "1500",
        "line_items[0][price_data][product_data][name]": "Gym pass",
    }


async def test_charge_refuses_the_mock_only_simulate_option() -> None:
    with pytest.raises(InvalidInput, match="mock"):
        await provider(FakeStripe()).charge(
            amount_cents=1500, currency="EUR", email="a@example.com", simulate="completed"
        )


async def test_a_refusal_by_the_provider_is_a_provider_error_with_its_message() -> None:
    stripe = FakeStripe((402, {"error": {"message": "Your card was declined."}}))

    with pytest.raises(ProviderError, match=r"402.*declined"):
        await provider(stripe).charge(
            amount_cents=1500, currency="EUR", email="a@example.com", simulate=None
        )


async def test_refund_of_a_checkout_finds_its_payment_intent_first() -> None:
    stripe = FakeStripe(
        (200, {"id": "cs_test_1", "payment_intent": "pi_1"}),
        (200, {"id": "re_1", "status": "succeeded"}),
    )

    assert await provider(stripe).refund("cs_test_1") == "refunded"

    assert stripe.requests[0].method == "GET"
    assert stripe.requests[0].url.endswith("/v1/checkout/sessions/cs_test_1")
    assert stripe.form(1) == {"payment_intent": "pi_1"}


async def test_refund_of_a_payment_intent_is_one_call() -> None:
    stripe = FakeStripe((200, {"id": "re_1", "status": "pending"}))

    assert await provider(stripe).refund("pi_1") == "refunded"
    assert len(stripe.requests) == 1


def test_a_correctly_signed_fresh_event_is_read() -> None:
    body = event_body(payment_status="paid", payment_intent="pi_1")
    headers = {"stripe-signature": signature_header(body, SECRET, NOW - 10)}

    event = provider(FakeStripe()).parse_event(body, headers, NOW)

    assert (event.event_id, event.status) == ("evt_1", "completed")
    assert event.references == ("cs_test_1", "pi_1")
    assert event.settled_reference == "pi_1"


def test_any_one_matching_v1_signature_is_enough() -> None:
    body = event_body()
    header = f"t={NOW},v1={'0' * 64},v0=ignored,v1={sign(body, SECRET, NOW)}"

    verify_signature(body, header, SECRET, NOW)


@pytest.mark.parametrize(
    ("header", "complaint"),
    [
        (None, "missing"),
        ("", "missing"),
        ("v1=abc", "t=<unix time>"),
        (f"t={NOW}", "v1=<hex signature>"),
        (f"t={NOW},v1={sign(b'{}', 'whsec_other', NOW)}", "matches"),
        (f"t={NOW},v1=not-hex-at-all-é", "matches"),
        ("t=²,v1=00", "t=<unix time>"),
        ("t=" + "9" * 4300 + ",v1=00", "t=<unix time>"),
        ("t=1" + "0" * 12 + ",v1=00", "t=<unix time>"),
    ],
)
def test_forged_or_malformed_signatures_are_rejected(header: str | None, complaint: str) -> None:
    with pytest.raises(WebhookRejected, match=complaint):
        verify_signature(b"{}", header, SECRET, NOW)


def test_a_tampered_body_no_longer_matches_its_signature() -> None:
    header = signature_header(event_body(), SECRET, NOW)

    with pytest.raises(WebhookRejected, match="matches"):
        verify_signature(event_body(id="cs_other"), header, SECRET, NOW)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_events_signed_outside_the_tolerance_are_stale(age: int) -> None:
    body = event_body()

    with pytest.raises(WebhookRejected, match="stale or replayed"):
        verify_signature(body, signature_header(body, SECRET, NOW - age), SECRET, NOW)


def test_events_at_the_edge_of_the_tolerance_pass() -> None:
    body = event_body()

    verify_signature(body, signature_header(body, SECRET, NOW - 300), SECRET, NOW)


@pytest.mark.parametrize(
    ("kind", "item", "status"),
    [
        ("checkout.session.completed", {"payment_status": "paid"}, "completed"),
        ("checkout.session.completed", {"payment_status": "unpaid"}, None),
        ("checkout.session.async_payment_succeeded", {}, "completed"),
        ("checkout.session.async_payment_failed", {}, "failed"),
        ("checkout.session.expired", {}, "failed"),
        ("charge.refunded", {"refunded": True, "payment_intent": "pi_1"}, "refunded"),
        ("charge.refunded", {"refunded": False, "payment_intent": "pi_1"}, None),
        ("customer.created", {}, None),
    ],
)
def test_event_types_map_to_payment_statuses(
    kind: str, item: dict[str, Any], status: str | None
) -> None:
    assert read_event(event_body(kind, **item)).status == status


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"id": "evt_1"}', b'{"type": "x"}', b"[" * 100_000 + b"]" * 100_000],
)
def test_garbled_event_bodies_are_rejected(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        read_event(body)
