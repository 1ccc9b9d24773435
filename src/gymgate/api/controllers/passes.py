"""Passes: the signed token and its QR, and the holder's view of the pass's status."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from gymgate.api.responses import JsonOrImageOperation, errors
from gymgate.api.schemas import GenerateQrRequest, GenerateQrResponse, PassStatusResponse
from gymgate.binding import device_key_for_issue
from gymgate.clock import to_iso
from gymgate.errors import InvalidInput
from gymgate.metrics import TOKENS_ISSUED
from gymgate.runtime import Runtime

__all__ = ["PassController"]

IMAGES_ARE_PLAIN = (
    "a pass bound to a phone is shown by that phone's page, with a proof that changes every "
    "few seconds; a png or svg picture cannot carry it: ask for format json with device_key"
)


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
        """Re-generating re-signs the same pass: same pass_id, same expiry, one entry.

        With `device_key` the pass is bound to that phone (a different key moves it there);
        the phone shows token~time~signature, so no image is drawn here.
        """
        device = device_key_for_issue(data.device_key)
        runtime.passes.require_binding_mode(device)
        if data.format != "json" and device is not None:
            raise InvalidInput(IMAGES_ARE_PLAIN)
        issued = await runtime.passes.issue(data.payment_id, device)
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
            qr=None if issued.jkt else await runtime.qr.data_url(issued.token),
            server_time=issued.issued_at,
            jkt=issued.jkt,
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
            jkt=found.jkt,
        )
