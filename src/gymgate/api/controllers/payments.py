"""Payments: create (mock provider by default), look up, refund."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.api.responses import errors
from gymgate.api.runtime import Runtime
from gymgate.api.schemas import CreatePaymentRequest, PaymentResponse
from gymgate.clock import to_iso
from gymgate.services.payments import (
    PaymentView,
    create_payment,
    get_payment,
    refund_payment,
)

__all__ = ["PaymentController"]


def _response(view: PaymentView) -> PaymentResponse:
    return PaymentResponse(
        payment_id=view.payment_id,
        user_id=view.user_id,
        status=view.status,  # type: ignore[arg-type]  # one of the four, by construction
        amount_cents=view.amount_cents,
        currency=view.currency,
        created_at=to_iso(view.created_at),
        checkout_url=view.checkout_url,
    )


class PaymentController(Controller):
    tags = ["payments"]

    @post(
        "/create_payment",
        status_code=201,
        summary="Pay for one pass",
        responses=errors(400, 413, 415, 429, 502, 503),
    )
    async def create(
        self,
        data: JSONBody[CreatePaymentRequest],
        session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> PaymentResponse:
        """Charge for one pass; `simulate` picks the mock provider's outcome."""
        view = await create_payment(
            session,
            runtime.provider,
            runtime.clock,
            email=data.email,
            name=data.name,
            simulate=data.simulate,
            amount_cents=runtime.settings.price_cents,
            currency=runtime.settings.currency,
        )
        return _response(view)

    @get("/payments/{payment_id:str}", summary="Look up a payment", responses=errors(404, 503))
    async def read(
        self, payment_id: FromPath[str], session: NamedDependency[AsyncSession]
    ) -> PaymentResponse:
        return _response(PaymentView.of(await get_payment(session, payment_id)))

    @post(
        "/payments/{payment_id:str}/refund",
        status_code=200,
        summary="Refund and revoke",
        responses=errors(404, 409, 502, 503),
    )
    async def refund(
        self,
        payment_id: FromPath[str],
        session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> PaymentResponse:
        """Refund a completed payment; its pass is revoked at once."""
        view = await refund_payment(session, runtime.provider, runtime.clock, payment_id)
        return _response(view)
