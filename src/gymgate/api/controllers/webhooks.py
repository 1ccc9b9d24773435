"""POST /webhooks/payment: the payment provider reports outcomes here, signed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency

from gymgate.api.responses import errors
from gymgate.api.schemas import WebhookResponse
from gymgate.runtime import Runtime

__all__ = ["WebhookController"]

# Provider events (a whole charge or checkout object) outgrow the API's default body limit;
# the signature is checked before anything in the body is believed.
MAX_EVENT_BYTES = 256 * 1024


class WebhookController(Controller):
    tags = ["payments"]

    @post(
        "/webhooks/payment",
        status_code=200,
        summary="Signed payment events from the provider",
        request_max_body_size=MAX_EVENT_BYTES,
        responses=errors(400, 404, 413, 415, 503),
    )
    async def payment_event(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> WebhookResponse:
        """Verify the provider's signature, then move the payment (idempotent by event id).

        400 for an unsigned, forged, stale or garbled request; 404 when no payment matches
        (the provider retries later).
        """
        outcome = await runtime.payment_events.receive(await request.body(), request.headers)
        return WebhookResponse(received=True, outcome=outcome)
