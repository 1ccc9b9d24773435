"""Provider webhooks: a verified event moves its payment forward, once, and never backwards.

Idempotency is the INSERT of the event's id into processed_payment_events in the same
transaction as the status change: a replayed or re-delivered event finds its row and changes
nothing. Ordering is the transition table below: providers deliver events in any order, so
an event that would move a payment backwards (`completed` after `refunded`, `failed` after
`completed`) is recorded and otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import Clock, to_datetime
from gymgate.db import insert_unless_exists
from gymgate.errors import NotFound
from gymgate.models import Payment, ProcessedPaymentEvent
from gymgate.payments import PaymentEvent, PaymentProvider, WebhookSource
from gymgate.services.payments import mark_payment

__all__ = ["WebhookOutcome", "apply_payment_event", "receive_payment_event"]

# applied: the payment moved; duplicate: this event id was handled before; out_of_order: the
# payment is already at or past that state; ignored: an event type gymgate does not act on.
WebhookOutcome = Literal["applied", "duplicate", "out_of_order", "ignored"]

# Where a payment may go next. Failed and refunded are final.
_FORWARD: dict[str, frozenset[str]] = {
    "pending": frozenset({"completed", "failed", "refunded"}),
    "completed": frozenset({"refunded"}),
    "failed": frozenset(),
    "refunded": frozenset(),
}


async def receive_payment_event(
    session: AsyncSession,
    provider: PaymentProvider,
    clock: Clock,
    payload: bytes,
    headers: Mapping[str, str],
) -> WebhookOutcome:
    """Verify a webhook request with the provider, then apply its event."""
    if not isinstance(provider, WebhookSource):
        raise NotFound(f"the {provider.name} payment provider sends no webhooks")
    event = provider.parse_event(payload, headers, clock.now())
    return await apply_payment_event(session, clock, provider.name, event)


async def apply_payment_event(
    session: AsyncSession, clock: Clock, provider: str, event: PaymentEvent
) -> WebhookOutcome:
    """Apply one verified event; refunding revokes the pass in the same transaction."""
    if event.status is None:
        return "ignored"
    payment = await session.scalar(
        select(Payment)
        .where(
            Payment.provider == provider,
            or_(
                Payment.provider_ref.in_(event.references),
                Payment.provider_payment_ref.in_(event.references),
            ),
        )
        .with_for_update()  # two events for one payment apply one after the other
    )
    if payment is None:
        # Not recorded, so the provider's retry can apply it once the payment exists.
        raise NotFound(f"no {provider} payment matches event {event.event_id}")
    moves = event.status in _FORWARD[payment.status]
    outcome: WebhookOutcome = "applied" if moves else "out_of_order"
    recorded = await session.execute(
        insert_unless_exists(
            session,
            ProcessedPaymentEvent,
            ["provider", "event_id"],
            provider=provider,
            event_id=event.event_id,
            kind=event.kind,
            payment_id=payment.id,
            outcome=outcome,
            received_at=to_datetime(clock.now()),
        ).returning(ProcessedPaymentEvent.event_id)
    )
    if recorded.first() is None:
        await session.rollback()
        return "duplicate"
    if moves:
        await mark_payment(session, clock, payment, event.status)
        if event.settled_reference:
            payment.provider_payment_ref = event.settled_reference
    await session.commit()
    return outcome
