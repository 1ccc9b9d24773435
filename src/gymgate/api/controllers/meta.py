"""Health and the public key set; no authentication, nothing secret."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from gymgate.api.runtime import Runtime
from gymgate.api.schemas import HealthResponse, Jwk, Jwks

__all__ = ["MetaController"]


class MetaController(Controller):
    tags = ["meta"]

    @get("/health", summary="The process is up")
    async def health(self) -> HealthResponse:
        return HealthResponse(status="ok")

    @get("/.well-known/jwks.json", summary="Public keys a verifier accepts")
    async def jwks(self, runtime: NamedDependency[Runtime]) -> Response[Jwks]:
        """Every key a verifier accepts (active and verify-only), public halves only."""
        document = runtime.keys.current().jwks()
        body = Jwks(keys=[Jwk(**jwk) for jwk in document["keys"]])
        return Response(body, headers={"Cache-Control": "public, max-age=60"})
