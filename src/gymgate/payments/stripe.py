"""A Stripe-compatible provider: hosted checkout to pay, signed webhooks to learn the outcome.

`charge()` opens a Checkout Session and answers `pending` with its id (the checkout
reference) and URL; the member pays on the provider's page and the provider then POSTs a
signed event to /webhooks/payment. `parse_event()` checks that request the way Stripe
documents it: `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]`, where v1 is
HMAC-SHA256 of `f"{t}.{raw body}"` under the endpoint's secret, compared in constant time,
and `t` must lie within the tolerance of the server's clock, so a captured request cannot
be replayed later.

Every HTTP call to the provider goes through one injectable `Transport`; tests pass a fake
one and nothing here touches the network by itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from gymgate.errors import InvalidInput
from gymgate.ids import new_id
from gymgate.payments.provider import (
    Charge,
    PaymentEvent,
    ProviderError,
    WebhookRejected,
)
from gymgate.vocabulary import PaymentStatus

__all__ = [
    "DEFAULT_API_BASE",
    "HttpRequest",
    "StripeProvider",
    "Transport",
    "read_event",
    "sign",
    "signature_header",
    "urllib_transport",
    "verify_signature",
]

DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_TOLERANCE_SECONDS = 300  # Stripe's own libraries use five minutes
REQUEST_TIMEOUT_SECONDS = 15.0
MAX_TIMESTAMP_DIGITS = 12  # unix time has 10 digits until the year 2286


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


# One HTTP exchange: the request in, (status code, body) out; raises ProviderError when the
# provider cannot be reached at all.
Transport = Callable[[HttpRequest], Awaitable[tuple[int, bytes]]]


async def urllib_transport(request: HttpRequest) -> tuple[int, bytes]:
    """The real transport: the standard library's HTTP client, off the event loop."""
    return await asyncio.to_thread(_send, request)


def _send(request: HttpRequest) -> tuple[int, bytes]:
    http_request = urllib.request.Request(  # noqa: S310  (the base URL is checked to be http(s))
        request.url, data=request.body, headers=dict(request.headers), method=request.method
    )
    try:
        with urllib.request.urlopen(http_request, timeout=REQUEST_TIMEOUT_SECONDS) as answer:  # noqa: S310
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise ProviderError(f"the payment provider could not be reached: {error}") from None


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The v1 signature of a payload sent at `timestamp`: hex HMAC-SHA256 of `t.payload`."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """A `Stripe-Signature` header value, as the provider would send it."""
    return f"t={timestamp},v1={sign(payload, secret, timestamp)}"


def _is_unix_time(text: str) -> bool:
    """ASCII digits, at most 12 of them: str.isdigit() also takes '²', which int() refuses,
    and a 4,300-digit number trips int()'s own limit."""
    return 0 < len(text) <= MAX_TIMESTAMP_DIGITS and text.isascii() and text.isdigit()


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and _is_unix_time(value):
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)  # several while the endpoint's secret is being rolled
    if timestamp is None or not signatures:
        raise WebhookRejected("Stripe-Signature must carry t=<unix time> and v1=<hex signature>")
    return timestamp, signatures


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise WebhookRejected unless one v1 signature matches and `t` is fresh."""
    if not header:
        raise WebhookRejected("the Stripe-Signature header is missing")
    timestamp, signatures = _parse_header(header)
    expected = sign(payload, secret, timestamp).encode()
    if not any(hmac.compare_digest(expected, given.encode()) for given in signatures):
        raise WebhookRejected("no v1 signature in Stripe-Signature matches this endpoint's secret")
    if abs(now - timestamp) > tolerance_seconds:
        raise WebhookRejected(
            f"the event was signed at t={timestamp}, more than {tolerance_seconds} s from now: "
            "stale or replayed"
        )


def _status_of(kind: str, item: Mapping[str, Any]) -> PaymentStatus | None:
    if kind == "checkout.session.completed":
        # Delayed methods (bank debits) complete the session unpaid; async_payment_* follows.
        paid = item.get("payment_status") in ("paid", "no_payment_required")
        return "completed" if paid else None
    if kind == "checkout.session.async_payment_succeeded":
        return "completed"
    if kind in ("checkout.session.async_payment_failed", "checkout.session.expired"):
        return "failed"
    if kind == "charge.refunded":
        return "refunded" if item.get("refunded") is True else None  # partial: the pass stays
    return None


def read_event(payload: bytes) -> PaymentEvent:
    """The gymgate view of a (verified) event body; raises WebhookRejected if it is garbled."""
    try:
        event = json.loads(payload)
    except ValueError:
        raise WebhookRejected("the event body is not JSON") from None
    except RecursionError:  # thousands of nested brackets: bad input, not a crash
        raise WebhookRejected("the event body is JSON nested too deeply") from None
    if not isinstance(event, dict):
        raise WebhookRejected("the event body is not a JSON object")
    event_id, kind, data = event.get("id"), event.get("type"), event.get("data")
    item = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not isinstance(kind, str) or not isinstance(item, dict):
        raise WebhookRejected("the event needs an id, a type and data.object")
    intent = item.get("payment_intent")
    references = tuple(ref for ref in (item.get("id"), intent) if isinstance(ref, str) and ref)
    status = _status_of(kind, item)
    settled = intent if status == "completed" and isinstance(intent, str) else None
    return PaymentEvent(event_id, kind, status, references, settled)


class StripeProvider:
    """Charges through a Stripe-compatible API; outcomes arrive by webhook."""

    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        success_url: str,
        api_base: str = DEFAULT_API_BASE,
        transport: Transport = urllib_transport,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
        product_name: str = "Gym pass",
    ) -> None:
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._success_url = success_url
        self._api_base = api_base.rstrip("/")
        self._transport = transport
        self._tolerance = tolerance_seconds
        self._product_name = product_name

    async def charge(
        self, *, amount_cents: int, currency: str, email: str, simulate: PaymentStatus | None
    ) -> Charge:
        """Open a Checkout Session; `pending` until its webhook says otherwise."""
        if simulate is not None:
            raise InvalidInput("simulate works with the mock payment provider only")
        form = {
            "mode": "payment",
            "customer_email": email,
            "success_url": self._success_url,
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": currency.lower(),
            "line_items[0][price_data][unit_amount]": str(amount_cents),
            "line_items[0][price_data][product_data][name]": self._product_name,
        }
        session = await self._call("POST", "/v1/checkout/sessions", form, new_id("checkout-"))
        reference, url = session.get("id"), session.get("url")
        if not isinstance(reference, str) or not reference:
            raise ProviderError("the payment provider answered without a checkout session id")
        return Charge(reference, "pending", url if isinstance(url, str) else None)

    async def refund(self, reference: str) -> PaymentStatus:
        """Refund the payment in full; `reference` is its payment intent or checkout session."""
        intent: object = reference
        if not reference.startswith("pi_"):
            session = await self._call("GET", f"/v1/checkout/sessions/{quote(reference, safe='')}")
            intent = session.get("payment_intent")
        if not isinstance(intent, str):
            raise ProviderError("the provider has no payment to refund for this checkout")
        refund = await self._call(
            "POST", "/v1/refunds", {"payment_intent": intent}, f"refund-{intent}"
        )
        if refund.get("status") not in ("succeeded", "pending"):
            raise ProviderError(f"the provider did not refund: status {refund.get('status')}")
        return "refunded"

    def parse_event(self, payload: bytes, headers: Mapping[str, str], now: float) -> PaymentEvent:
        """Verify the request's signature and age, then read its event."""
        verify_signature(
            payload, headers.get("stripe-signature"), self._webhook_secret, now, self._tolerance
        )
        return read_event(payload)

    async def _call(
        self,
        method: str,
        path: str,
        form: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._secret_key}"}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key  # a retried POST is not a second charge
        body = urlencode(form).encode() if form is not None else None
        status, raw = await self._transport(
            HttpRequest(method, self._api_base + path, headers, body)
        )
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ProviderError(f"the payment provider answered {status} without a JSON object")
        if status >= 400:
            error = answer.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            reason = message or "no reason given"
            raise ProviderError(f"the payment provider refused ({status}): {reason}")
        return answer
