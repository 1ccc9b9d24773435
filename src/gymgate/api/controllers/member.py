"""The member's journey: what a pass costs, opening an emailed pass link, asking for the links
again."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import get_remote_address
from litestar.params import JSONBody

from gymgate.api.responses import errors
from gymgate.api.schemas import (
    InfoResponse,
    LinkedPassResponse,
    OpenLinkRequest,
    ResendRequest,
    ResendResponse,
)
from gymgate.binding import device_key_for_issue
from gymgate.clock import to_iso
from gymgate.metrics import TOKENS_ISSUED
from gymgate.qr import qr_data_url
from gymgate.runtime import Runtime
from gymgate.services.payments import normalise_email

__all__ = ["MemberController"]

_RESEND_SENT = (
    "If this address has a pass that is still valid, an email with a link to each one is on "
    "its way. Older links stop working."
)


class MemberController(Controller):
    tags = ["member"]

    @get("/info", summary="The gym, the price and what one pass buys")
    async def info(self, runtime: NamedDependency[Runtime]) -> Response[InfoResponse]:
        settings = runtime.settings
        body = InfoResponse(
            gym_name=settings.gym_name,
            price_cents=settings.price_cents,
            currency=settings.currency,
            pass_ttl_seconds=settings.pass_ttl_seconds,
            dev_mode=settings.dev_mode,
            payment_provider="stripe" if settings.payment_provider == "stripe" else "mock",
            wallets=runtime.wallet_passes.offered(),
            pass_binding=settings.binding_mode,
            proof_window_seconds=settings.proof_window_seconds,
        )
        return Response(body, headers={"Cache-Control": "no-cache"})

    @post(
        "/passes/by-link",
        status_code=200,
        summary="Open an emailed pass link: the pass, signed afresh",
        responses=errors(400, 404, 409, 413, 415, 503),
    )
    async def by_link(
        self, data: JSONBody[OpenLinkRequest], runtime: NamedDependency[Runtime]
    ) -> Response[LinkedPassResponse]:
        """The same pass as /generate_qr gives (same pass_id, one entry), on any device.

        With `device_key`, the pass is bound to that phone: opening the link on a new phone
        moves the pass there (409 once it has let someone in).
        """
        device = device_key_for_issue(data.device_key)
        runtime.passes.require_binding_mode(device)
        linked = await runtime.pass_links.open(data.link)
        issued = await runtime.passes.issue(linked.payment_id, device)
        TOKENS_ISSUED.inc()
        status = await runtime.passes.status(issued.pass_id)
        body = LinkedPassResponse(
            token=issued.token,
            pass_id=issued.pass_id,
            payment_id=linked.payment_id,
            expires_at=to_iso(issued.expires_at),
            qr=None if issued.jkt else qr_data_url(issued.token),
            status=status.status,
            server_time=issued.issued_at,
            jkt=issued.jkt,
            holder=linked.holder,
            used_at=to_iso(status.used_at) if status.used_at else None,
            used_gate=status.used_gate,
        )
        return Response(body, media_type=MediaType.JSON, headers={"Cache-Control": "no-store"})

    @post(
        "/passes/resend",
        status_code=202,
        summary="Email me links to my passes (202 whatever the address)",
        responses=errors(400, 413, 415, 429),
    )
    async def resend(
        self,
        data: JSONBody[ResendRequest],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> Response[ResendResponse]:
        """Answered before anything is looked up, the same for every address, so the answer
        (and its timing) tells nobody who is a member; the email goes out afterwards."""
        email = normalise_email(data.email)
        wait = runtime.pass_links.client_may_resend(get_remote_address(request))
        if wait is not None:
            raise TooManyRequestsException(
                f"too many pass emails asked from this address; retry in {int(wait) + 1} s",
                headers={"Retry-After": str(int(wait) + 1)},
            )
        return Response(
            ResendResponse(detail=_RESEND_SENT),
            status_code=202,
            background=BackgroundTask(runtime.pass_links.resend, email),
        )
