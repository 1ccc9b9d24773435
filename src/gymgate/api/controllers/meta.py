"""Health, readiness and the public key set; no authentication, nothing secret."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from gymgate.api.responses import errors
from gymgate.api.schemas import HealthResponse, Jwk, Jwks, ReadyResponse
from gymgate.errors import KeyStoreError, StorageUnavailable
from gymgate.runtime import Runtime

__all__ = ["MetaController"]


class MetaController(Controller):
    tags = ["meta"]

    @get("/health", summary="The process is up")
    async def health(self) -> HealthResponse:
        return HealthResponse(status="ok")

    @get(
        "/ready",
        summary="Ready to admit: the database answers and a key is signing",
        responses=errors(503),
    )
    async def ready(self, runtime: NamedDependency[Runtime]) -> Response[ReadyResponse]:
        """For load balancers and orchestrators: 200 only when a pass can be issued and
        admitted right now; 503 with a `detail` (and Retry-After) otherwise."""
        active_kid = runtime.keys.current().active_kid
        if active_kid is None or runtime.keys.current().signing_key is None:
            raise KeyStoreError("not ready: no active signing key (run `gymgate keys rotate`)")
        await runtime.storage.ping()
        skew = await runtime.clock_skew()
        if skew is not None:
            raise StorageUnavailable(
                f"not ready: this server's clock is {skew:+.1f} s off the database's, more "
                f"than the {runtime.settings.leeway_seconds} s leeway; fix its time (NTP)"
            )
        body = ReadyResponse(status="ready", database="ok", active_kid=active_kid)
        return Response(body, headers={"Cache-Control": "no-store"})

    @get("/.well-known/jwks.json", summary="Public keys a verifier accepts")
    async def jwks(self, runtime: NamedDependency[Runtime]) -> Response[Jwks]:
        """Every key a verifier accepts (active and verify-only), public halves only."""
        document = runtime.keys.current().jwks()
        body = Jwks(keys=[Jwk(**jwk) for jwk in document["keys"]])
        return Response(body, headers={"Cache-Control": "public, max-age=60"})
