"""Small helpers for API tests: pay, get a pass, scan it, read the audit, forge tokens, talk
to an app from chosen client addresses."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from gymgate.cli import main
from gymgate.keystore import KeyEntry, KeySet, kid_for
from gymgate.models import Payment
from gymgate.runtime import Runtime
from tests.conftest import ADMIN_TOKEN

Client = AsyncTestClient[Litestar]
ClientAt = Callable[[str], httpx.AsyncClient]


async def member_of(runtime: Runtime, payment_id: str) -> str:
    """The member's own id (the token's `sub`), which no payment answer shows."""
    async with runtime.storage.reading() as session:
        user_id = await session.scalar(select(Payment.user_id).where(Payment.id == payment_id))
    assert user_id is not None
    return user_id


async def pay(client: Client, email: str = "ana@example.com", **extra: Any) -> dict[str, Any]:
    response = await client.post("/create_payment", json={"email": email, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def new_pass(client: Client, email: str = "ana@example.com") -> dict[str, Any]:
    """Pay and generate the QR; the JSON body of /generate_qr."""
    payment = await pay(client, email)
    response = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def scan(client: Client, secret: str, token: Any, gate: str = "front-door") -> Any:
    response = await client.post(
        "/verify",
        json={"token": token, "gate": gate},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def refund(client: Client, payment_id: str) -> dict[str, Any]:
    """POST /payments/{id}/refund as the operator (admin token)."""
    response = await client.post(f"/payments/{payment_id}/refund", headers=admin_headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def audit_items(client: Client, **params: Any) -> list[dict[str, Any]]:
    """The items of GET /audit (admin token), newest first."""
    response = await client.get("/audit", params=params, headers=admin_headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def tampered(token: str, **claims: Any) -> str:
    """The token with its payload changed (default: another sub), the signature kept."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded.update(claims or {"sub": "someone_else"})
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def signed_token(keyset: KeySet, claims: dict[str, Any]) -> str:
    """A token with any claims, signed by the key set's active key (ours or a stranger's)."""
    assert keyset.signing_key is not None
    assert keyset.active_kid is not None
    return jwt.encode(
        claims, keyset.signing_key, algorithm="EdDSA", headers={"kid": keyset.active_kid}
    )


def stranger_keyset() -> KeySet:
    """A key set nobody else knows: its tokens are unknown_key everywhere."""
    private = Ed25519PrivateKey.generate()
    entry = KeyEntry(kid_for(private.public_key()), "", "active", private.public_key())
    return KeySet((entry,), private)


def run_cli(env: Mapping[str, str], *args: str) -> Result:
    """`gymgate ARGS` in-process, with only the given GYMGATE_* variables set."""
    stray: dict[str, str | None] = {n: None for n in os.environ if n.startswith("GYMGATE_")}
    return CliRunner(env={**stray, **env}).invoke(main, list(args))


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[ClientAt]:
    """The app started once; `client_at(ip)` talks to it from that client address."""
    clients: list[httpx.AsyncClient] = []

    def client_at(address: str) -> httpx.AsyncClient:
        # Litestar types its ASGI callable more narrowly than httpx expects; it is one.
        transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://gymgate.test"))
        return clients[-1]

    async with started(app):
        try:
            yield client_at
        finally:
            for client in clients:
                await client.aclose()


@asynccontextmanager
async def started(app: Litestar) -> AsyncIterator[None]:
    """The app's ASGI lifespan, run on this event loop, as uvicorn runs it.

    Litestar's AsyncTestClient runs the lifespan on a portal thread's loop: the background
    jobs it starts (the sweep, the audit rollup) would then share database pools with
    requests sent from this loop, and asyncio's pool queues belong to one loop.
    """
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    lifespan = asyncio.create_task(app(scope, inbox.get, outbox.put))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    answer = await outbox.get()
    assert answer["type"] == "lifespan.startup.complete", answer
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        answer = await outbox.get()
        await lifespan
        assert answer["type"] == "lifespan.shutdown.complete", answer
