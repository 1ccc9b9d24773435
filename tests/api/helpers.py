"""Small request helpers for API tests: pay, get a pass, scan it."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


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
