"""Passes: the signed token and its QR, and the holder's view of the pass's status."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from gymgate.api.responses import JsonOrImageOperation, errors
from gymgate.api.schemas import GenerateQrRequest, GenerateQrResponse, PassStatusResponse
from gymgate.clock import to_iso
from gymgate.metrics import TOKENS_ISSUED
from gymgate.runtime import Runtime

__all__ = ["PassController"]


class PassController(Controller):
    tags = ["passes"]

    @post(
        "/generate_qr",
        status_code=201,
        summary="Sign the payment's pass and draw its QR",
        operation_class=JsonOrImageOperation,
        responses={
            201: ResponseSpec(
                data_container=GenerateQrResponse,
                description="json: the token and a PNG data URL; png/svg: the image itself",
            ),
            **errors(400, 402, 404, 409, 413, 415, 429, 503),
        },
    )
    async def generate_qr(
        self,
        data: JSONBody[GenerateQrRequest],
        runtime: NamedDependency[Runtime],
    ) -> Response[GenerateQrResponse | bytes]:
        """Re-generating re-signs the same pass: same pass_id, same expiry, one entry."""
        issued = await runtime.passes.issue(data.payment_id)
        TOKENS_ISSUED.inc()
        headers = {"Cache-Control": "no-store"}
        if data.format == "png":
            png = await runtime.qr.png(issued.token)
            return Response(png, media_type="image/png", headers=headers)
        if data.format == "svg":
            svg = await runtime.qr.svg(issued.token)
            return Response(svg, media_type="image/svg+xml", headers=headers)
        body = GenerateQrResponse(
            token=issued.token,
            pass_id=issued.pass_id,
            expires_at=to_iso(issued.expires_at),
            qr=await runtime.qr.data_url(issued.token),
        )
        return Response(body, media_type=MediaType.JSON, headers=headers)

    @get(
        "/passes/{pass_id:str}",
        summary="A pass's status (unused, used, revoked, expired)",
        responses=errors(404, 503),
    )
    async def status(
        self, pass_id: FromPath[str], runtime: NamedDependency[Runtime]
    ) -> PassStatusResponse:
        found = await runtime.passes.status(pass_id)
        return PassStatusResponse(
            pass_id=found.pass_id,
            status=found.status,
            expires_at=to_iso(found.expires_at),
            used_at=to_iso(found.used_at) if found.used_at else None,
            used_gate=found.used_gate,
        )
