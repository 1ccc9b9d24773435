"""Issuing passes on both databases, without HTTP: one pass per payment, for life."""

from __future__ import annotations

import pytest

from gymgate.clock import FrozenClock
from gymgate.errors import NotFound, PaymentConflict, PaymentNotCompleted
from gymgate.runtime import Runtime


async def test_issuing_again_re_signs_the_same_pass(runtime: Runtime, clock: FrozenClock) -> None:
    payment = await runtime.payments.create(email="ana@example.com", name=None, simulate=None)
    first = await runtime.passes.issue(payment.payment_id)
    clock.advance(600)

    again = await runtime.passes.issue(payment.payment_id)

    assert (again.pass_id, again.expires_at) == (first.pass_id, first.expires_at)
    assert again.token != first.token  # a new picture of the same entry


@pytest.mark.parametrize("outcome", ["pending", "failed"])
async def test_an_unpaid_payment_gets_no_pass(runtime: Runtime, outcome: str) -> None:
    payment = await runtime.payments.create(
        email="ana@example.com",
        name=None,
        simulate=outcome,  # type: ignore[arg-type]  # a literal the provider accepts
    )

    with pytest.raises(PaymentNotCompleted):
        await runtime.passes.issue(payment.payment_id)


async def test_a_refunded_payment_gets_no_pass(runtime: Runtime) -> None:
    payment = await runtime.payments.create(email="ana@example.com", name=None, simulate=None)
    await runtime.payments.refund(payment.payment_id)

    with pytest.raises(PaymentConflict):
        await runtime.passes.issue(payment.payment_id)


async def test_an_unknown_payment_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        await runtime.passes.issue("pay_nosuchpayment0")


async def test_a_pass_status_follows_its_use(runtime: Runtime) -> None:
    payment = await runtime.payments.create(email="ana@example.com", name=None, simulate=None)
    issued = await runtime.passes.issue(payment.payment_id)
    assert (await runtime.passes.status(issued.pass_id)).status == "unused"

    await runtime.check_in(issued.token, "front-door")

    status = await runtime.passes.status(issued.pass_id)
    assert (status.status, status.used_gate) == ("used", "front-door")
