"""Wallet passes: the payment's pass as an Apple Wallet `.pkpass` or a Google Wallet link."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from gymgate.api.responses import errors
from gymgate.api.schemas import WalletPassRequest, WalletSaveLinkResponse
from gymgate.metrics import TOKENS_ISSUED
from gymgate.runtime import Runtime
from gymgate.wallet.apple import MEDIA_TYPE as PKPASS

__all__ = ["WalletController"]

# The body holds a token that opens the gate: no cache may keep it.
_PRIVATE = {"Cache-Control": "no-store"}


class WalletController(Controller):
    path = "/passes/wallet"
    tags = ["passes"]

    @post(
        "/apple",
        status_code=200,
        media_type=PKPASS,
        summary="The payment's pass as an Apple Wallet .pkpass",
        responses=errors(400, 402, 404, 409, 413, 415, 429, 503),
    )
    async def apple(
        self, data: JSONBody[WalletPassRequest], runtime: NamedDependency[Runtime]
    ) -> Response[bytes]:
        """The same pass as /generate_qr (same pass_id, one entry); 404 when this server
        offers no Apple Wallet passes (see `wallets` in /info)."""
        pkpass = await runtime.wallet_passes.apple(data.payment_id)
        TOKENS_ISSUED.inc()
        headers = {**_PRIVATE, "Content-Disposition": 'attachment; filename="pass.pkpass"'}
        return Response(pkpass, media_type=PKPASS, headers=headers)

    @post(
        "/google",
        status_code=200,
        summary='The payment\'s pass as a "Save to Google Wallet" link',
        responses=errors(400, 402, 404, 409, 413, 415, 429, 503),
    )
    async def google(
        self, data: JSONBody[WalletPassRequest], runtime: NamedDependency[Runtime]
    ) -> Response[WalletSaveLinkResponse]:
        """The same pass as /generate_qr; 404 when this server offers no Google Wallet."""
        url = await runtime.wallet_passes.google(data.payment_id)
        TOKENS_ISSUED.inc()
        body = WalletSaveLinkResponse(url=url)
        return Response(body, media_type=MediaType.JSON, headers=_PRIVATE)
