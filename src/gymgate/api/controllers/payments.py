"""Payments: create (mock provider by default), look up, refund (an operator's act)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from gymgate.api.auth import require_admin
from gymgate.api.responses import errors
from gymgate.api.schemas import (
    CreatePaymentRequest,
    FoundPaymentItem,
    FoundPaymentsResponse,
    PaymentResponse,
)
from gymgate.clock import to_iso
from gymgate.runtime import Runtime
from gymgate.services.payment_lookup import FoundPayment
from gymgate.services.payments import PaymentView

__all__ = ["PaymentController"]


def _response(view: PaymentView) -> PaymentResponse:
    return PaymentResponse(
        payment_id=view.payment_id,
        user_id=view.user_id,
        status=view.status,
        amount_cents=view.amount_cents,
        currency=view.currency,
        created_at=to_iso(view.created_at),
        checkout_url=view.checkout_url,
    )


def _found(found: FoundPayment) -> FoundPaymentItem:
    return FoundPaymentItem(
        payment_id=found.payment_id,
        user_id=found.user_id,
        email=found.email,
        name=found.name,
        status=found.status,
        amount_cents=found.amount_cents,
        currency=found.currency,
        created_at=to_iso(found.created_at),
        pass_id=found.pass_id,
        pass_state=found.pass_state,
        used_at=to_iso(found.used_at) if found.used_at else None,
        used_gate=found.used_gate,
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
        self, data: JSONBody[CreatePaymentRequest], runtime: NamedDependency[Runtime]
    ) -> PaymentResponse:
        """Charge for one pass; `simulate` picks the mock provider's outcome."""
        view = await runtime.payments.create(
            email=data.email, name=data.name, simulate=data.simulate
        )
        return _response(view)

    @get("/payments/{payment_id:str}", summary="Look up a payment", responses=errors(404, 503))
    async def read(
        self, payment_id: FromPath[str], runtime: NamedDependency[Runtime]
    ) -> PaymentResponse:
        return _response(await runtime.payments.get(payment_id))

    @post(
        "/payments/{payment_id:str}/refund",
        status_code=200,
        summary="Refund and revoke (operator)",
        guards=[require_admin],
        security=[{"bearer": []}],
        responses=errors(401, 403, 404, 409, 502, 503),
    )
    async def refund(
        self, payment_id: FromPath[str], runtime: NamedDependency[Runtime]
    ) -> PaymentResponse:
        """Refund a completed payment whose pass has not admitted anyone; the pass is revoked
        at once. Needs the admin token; 409 once the pass was used."""
        return _response(await runtime.payments.refund(payment_id))

    @get(
        "/payments",
        summary="Find payments and their pass state (operator)",
        guards=[require_admin],
        security=[{"bearer": []}],
        responses=errors(400, 401, 403, 503),
    )
    async def find(
        self,
        runtime: NamedDependency[Runtime],
        email: Annotated[
            str | None, Parameter(max_length=254, description="exactly this member's payments")
        ] = None,
        q: Annotated[
            str | None,
            Parameter(
                max_length=200,
                description="a payment id, or part of the member's email or name (any case)",
            ),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> FoundPaymentsResponse:
        """Newest first, each with its member and where its pass stands, so the front desk
        can find the one to refund. Needs the admin token."""
        found = await runtime.payment_lookup.find(
            email=(email or "").strip() or None, search=(q or "").strip() or None, limit=limit
        )
        return FoundPaymentsResponse(items=[_found(f) for f in found])
