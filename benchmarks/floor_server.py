"""F5's server: /verify's essential work only, on the stack `gymgate serve` uses.

Parse the JSON body (msgspec), check the gate secret (SHA-256 + compare_digest against one
digest), verify the Ed25519 JWT (gymgate's TokenVerifier and KeySet), run the one SQLite
transaction (used-pass insert + audit row, WAL, on gymgate's SqliteWriter) and answer.
Nothing else: no logging, no metrics, no request id, no limits. What /verify costs beyond
this is what gymgate adds on top of the essential work.

    FLOOR_DATABASE_URL=sqlite:///x.db FLOOR_KEYS=keys FLOOR_GATE_SECRET=S \
        python -m benchmarks.floor_server --port 8001
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import NotAuthorizedException

from gymgate.errors import TokenRejected
from gymgate.keystore import KeyStore
from gymgate.settings import Settings
from gymgate.storage.sqlite_writer import SqliteWriter
from gymgate.tokens import TokenVerifier

__all__ = ["create_app"]

_ADMIT = (
    "INSERT INTO used_passes (pass_id, state, at, gate, expires_at) VALUES (?, 'used', ?, ?, ?) "
    "ON CONFLICT (pass_id) DO NOTHING RETURNING pass_id"
)
_AUDIT = (
    "INSERT INTO audit_events (at, gate, result, reason, pass_id, user_id, kid, token_sha256) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_TIME = "%Y-%m-%d %H:%M:%S.%f"


class _Body(msgspec.Struct):
    token: str
    gate: str | None = None


def create_app() -> Litestar:
    """The floor app, configured from FLOOR_* environment variables (uvicorn --factory)."""
    settings = Settings(
        database_url=os.environ["FLOOR_DATABASE_URL"], keys_dir=Path(os.environ["FLOOR_KEYS"])
    )
    keyset = KeyStore(settings.keys_dir).load()
    verifier = TokenVerifier(issuer="gymgate", leeway_seconds=30)
    digest = hashlib.sha256(os.environ["FLOOR_GATE_SECRET"].encode()).hexdigest().encode()
    writer = SqliteWriter(settings)
    decoder = msgspec.json.Decoder(_Body)

    @post("/verify", status_code=200)
    async def verify(request: Request[Any, Any, Any]) -> Response[bytes]:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ")
        seen = hashlib.sha256(presented.encode()).hexdigest().encode()
        if not hmac.compare_digest(seen, digest):
            raise NotAuthorizedException("wrong gate secret")
        body = decoder.decode(await request.body())
        token_sha = hashlib.sha256(body.token.encode()).hexdigest()
        now = time.time()
        row: tuple[str, str | None, str | None, str | None]
        expires = 0
        try:
            claims = verifier.verify(body.token, keyset, now)
        except TokenRejected as rejected:
            row = (rejected.reason, None, None, None)
        else:
            row = ("allow", claims.pass_id, claims.user_id, claims.kid)
            expires = claims.expires_at
        stamp = datetime.fromtimestamp(now, UTC).strftime(_TIME)

        def transaction(connection: sqlite3.Connection) -> str:
            result, pass_id, user_id, kid = row
            if result == "allow":
                admitted = connection.execute(_ADMIT, (pass_id, stamp, "bench", expires))
                if admitted.fetchone() is None:
                    result = "already_used"
            outcome = ("allow", None) if result == "allow" else ("deny", result)
            connection.execute(_AUDIT, (stamp, "bench", *outcome, pass_id, user_id, kid, token_sha))
            return result

        result = await writer.run_on_driver(transaction)
        answer = {"status": "allow"} if result == "allow" else {"status": "deny", "reason": result}
        return Response(msgspec.json.encode(answer), media_type="application/json")

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    async def close() -> None:
        await writer.close()

    return Litestar(route_handlers=[verify, health], on_shutdown=[close], debug=False)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    # The same uvicorn options as `gymgate serve`, minus its logging (the floor logs nothing).
    uvicorn.run(
        "benchmarks.floor_server:create_app",
        factory=True,
        host="127.0.0.1",
        port=arguments.port,
        workers=1,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
