"""Provider events on both databases, without HTTP: applied once, never backwards."""

from __future__ import annotations

from sqlalchemy import select

from gymgate.models import Payment
from gymgate.payments import PaymentEvent
from gymgate.runtime import Runtime


async def pending_payment(runtime: Runtime) -> tuple[str, str]:
    view = await runtime.payments.create(email="ana@example.com", name=None, simulate="pending")
    async with runtime.storage.reading() as session:
        reference = await session.scalar(
            select(Payment.provider_ref).where(Payment.id == view.payment_id)
        )
    assert reference is not None
    return view.payment_id, reference


async def test_a_completion_event_completes_the_payment_once(runtime: Runtime) -> None:
    payment_id, reference = await pending_payment(runtime)
    event = PaymentEvent("evt_1", "checkout.session.completed", "completed", (reference,))

    assert await runtime.payment_events.apply(event) == "applied"
    assert await runtime.payment_events.apply(event) == "duplicate"
    assert (await runtime.payments.get(payment_id)).status == "completed"


async def test_an_event_that_would_move_a_payment_backwards_changes_nothing(
    runtime: Runtime,
) -> None:
    payment_id, reference = await pending_payment(runtime)
    await runtime.payment_events.apply(PaymentEvent("evt_1", "x", "completed", (reference,)))

    outcome = await runtime.payment_events.apply(PaymentEvent("evt_2", "x", "failed", (reference,)))

    assert outcome == "out_of_order"
    assert (await runtime.payments.get(payment_id)).status == "completed"


async def test_a_refund_event_revokes_the_pass(runtime: Runtime) -> None:
    payment_id, reference = await pending_payment(runtime)
    await runtime.payment_events.apply(PaymentEvent("evt_1", "x", "completed", (reference,)))
    issued = await runtime.passes.issue(payment_id)

    await runtime.payment_events.apply(PaymentEvent("evt_2", "x", "refunded", (reference,)))

    decision = await runtime.check_in(issued.token, "front-door")
    assert (decision.result, decision.reason) == ("deny", "revoked")


async def test_an_event_of_no_interest_is_ignored(runtime: Runtime) -> None:
    await pending_payment(runtime)

    assert await runtime.payment_events.apply(PaymentEvent("evt_1", "ping", None)) == "ignored"
