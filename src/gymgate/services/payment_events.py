"""Provider webhooks: a verified event moves its payment forward, once, and never backwards.

Idempotency is the INSERT of the event's id into processed_payment_events in the same
transaction as the status change: a replayed or re-delivered event finds its row and changes
nothing. Ordering is the transition table below: providers deliver events in any order, so
an event that would move a payment backwards (`completed` after `refunded`, `failed` after
`completed`) is recorded and otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import or_, select

from gymgate.clock import Clock, to_datetime
from gymgate.errors import NotFound
from gymgate.models import Payment, ProcessedPaymentEvent
from gymgate.payments import PaymentEvent, PaymentProvider, WebhookSource
from gymgate.services.pass_links import PassLinks
from gymgate.services.payments import mark_payment
from gymgate.storage import Storage
from gymgate.vocabulary import PaymentStatus, WebhookOutcome

__all__ = ["PaymentEvents"]

# Where a payment may go next. Failed and refunded are final.
_FORWARD: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    "pending": frozenset({"completed", "failed", "refunded"}),
    "completed": frozenset({"refunded"}),
    "failed": frozenset(),
    "refunded": frozenset(),
}


class PaymentEvents:
    """Signed provider webhooks, applied to the payments they name."""

    def __init__(
        self, storage: Storage, provider: PaymentProvider, clock: Clock, links: PassLinks
    ) -> None:
        self._storage = storage
        self._links = links
        self._provider = provider
        self._clock = clock

    async def receive(self, payload: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Verify a webhook request with the provider, then apply its event."""
        provider = self._provider
        if not isinstance(provider, WebhookSource):
            raise NotFound(f"the {provider.name} payment provider sends no webhooks")
        event = provider.parse_event(payload, headers, self._clock.now())
        return await self.apply(event)

    async def apply(self, event: PaymentEvent) -> WebhookOutcome:
        """Apply one verified event; refunding revokes the pass in the same transaction, and
        completing mints the pass link (emailed once the transaction has committed)."""
        if event.status is None:
            return "ignored"
        provider = self._provider.name
        now = to_datetime(self._clock.now())
        link: str | None = None
        async with self._storage.writing() as session:
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
                self._storage.insert(
                    ProcessedPaymentEvent,
                    provider=provider,
                    event_id=event.event_id,
                    kind=event.kind,
                    payment_id=payment.id,
                    outcome=outcome,
                    received_at=now,
                )
                .on_conflict_do_nothing(index_elements=["provider", "event_id"])
                .returning(ProcessedPaymentEvent.event_id)
            )
            if recorded.first() is None:
                await session.rollback()
                return "duplicate"
            if moves:
                await mark_payment(self._storage, session, now, payment, event.status)
                if event.settled_reference:
                    payment.provider_payment_ref = event.settled_reference
                if event.status == "completed":
                    link = await self._links.mint_in(session, payment.id, now)
        if link is not None:
            await self._links.mail_new(payment.id, link)
        return outcome
