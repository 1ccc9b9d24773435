"""Passes over HTTP: the QR in three formats, and the holder's view of the pass's status."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime

import jwt
from testkit.qr_reader import qr_text

from gymgate.clock import FrozenClock, to_iso
from gymgate.keystore import KeyStore
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.api.helpers import (
    Client,
    admin_headers,
    member_of,
    new_pass,
    pay,
    refund,
    scan,
)

DATA_URL_PREFIX = "data:image/png;base64,"


async def test_generate_qr_json_has_token_pass_id_expiry_and_data_url(
    client: Client, clock: FrozenClock, settings: Settings
) -> None:
    payment = await pay(client)

    response = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"token", "pass_id", "expires_at", "qr", "server_time", "jkt"}
    assert body["jkt"] is None
    assert body["server_time"] == clock.now()
    assert body["expires_at"] == to_iso(clock.now() + settings.pass_ttl_seconds)
    assert body["qr"].startswith(DATA_URL_PREFIX)


async def test_the_token_carries_the_contract_claims(
    client: Client, clock: FrozenClock, settings: Settings, runtime: Runtime
) -> None:
    payment = await pay(client)
    issued = await new_pass_for(client, payment["payment_id"])

    header = jwt.get_unverified_header(issued["token"])
    claims = jwt.decode(issued["token"], options={"verify_signature": False})

    active_kid = KeyStore(settings.keys_dir).load().active_kid
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": active_kid}
    assert claims["iss"] == "gymgate"
    assert claims["sub"] == await member_of(runtime, payment["payment_id"])
    assert claims["sub"] != payment["user_id"]  # the public answer shows a pseudonym
    assert claims["jti"] == issued["pass_id"]
    assert claims["iat"] == int(clock.now())
    assert claims["exp"] == int(clock.now()) + settings.pass_ttl_seconds


async def test_the_data_url_decodes_to_the_exact_token(client: Client) -> None:
    issued = await new_pass(client)

    png = base64.b64decode(issued["qr"].removeprefix(DATA_URL_PREFIX), validate=True)

    assert qr_text(png) == issued["token"]


async def test_generate_qr_png_is_an_image_that_the_server_allows(
    client: Client, gate_secret: str, runtime: Runtime
) -> None:
    payment = await pay(client)
    response = await client.post(
        "/generate_qr", json={"payment_id": payment["payment_id"], "format": "png"}
    )

    assert response.status_code == 201
    assert response.headers["content-type"] == "image/png"
    token = qr_text(response.content)
    answer = await scan(client, gate_secret, token)
    assert answer["status"] == "allow"
    assert answer["user_id"] == await member_of(runtime, payment["payment_id"])


async def test_generate_qr_svg_is_an_svg_document(client: Client) -> None:
    payment = await pay(client)
    response = await client.post(
        "/generate_qr", json={"payment_id": payment["payment_id"], "format": "svg"}
    )

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)  # noqa: S314  (our own server's output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


async def test_regenerating_keeps_pass_id_and_expiry(client: Client, clock: FrozenClock) -> None:
    payment = await pay(client)
    first = await new_pass_for(client, payment["payment_id"])
    clock.advance(3600)

    second = await new_pass_for(client, payment["payment_id"])

    assert second["pass_id"] == first["pass_id"]
    assert second["expires_at"] == first["expires_at"]
    assert second["token"] != first["token"]


async def test_each_payment_buys_its_own_pass(client: Client) -> None:
    first = await new_pass(client, "ana@example.com")
    second = await new_pass(client, "ana@example.com")

    assert first["pass_id"] != second["pass_id"]


async def test_pass_status_goes_from_unused_to_used_and_stays_used(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    payment = await pay(client)
    issued = await new_pass_for(client, payment["payment_id"])
    assert (await pass_status(client, issued["pass_id"])) == {
        "pass_id": issued["pass_id"],
        "status": "unused",
        "expires_at": issued["expires_at"],
        "jkt": None,
    }

    clock.advance(60)
    await scan(client, gate_secret, issued["token"])
    used = await pass_status(client, issued["pass_id"])
    assert used == {
        "pass_id": issued["pass_id"],
        "status": "used",
        "expires_at": issued["expires_at"],
        "used_at": to_iso(clock.now()),
        "used_gate": "front-door",
        "jkt": None,
    }

    refused = await client.post(
        f"/payments/{payment['payment_id']}/refund", headers=admin_headers()
    )
    assert refused.status_code == 409  # a used pass cannot be refunded
    assert await pass_status(client, issued["pass_id"]) == used


async def test_pass_status_of_a_refunded_pass_is_revoked(client: Client) -> None:
    payment = await pay(client)
    issued = await new_pass_for(client, payment["payment_id"])

    await refund(client, payment["payment_id"])

    assert (await pass_status(client, issued["pass_id"]))["status"] == "revoked"


async def test_a_refunded_unused_pass_is_revoked(client: Client) -> None:
    payment = await pay(client)
    issued = await new_pass_for(client, payment["payment_id"])

    await refund(client, payment["payment_id"])

    assert (await pass_status(client, issued["pass_id"]))["status"] == "revoked"


async def test_an_unused_pass_is_expired_once_the_clock_passes_exp(
    client: Client, clock: FrozenClock, gate_secret: str
) -> None:
    issued = await new_pass(client)
    expires = datetime.fromisoformat(issued["expires_at"]).timestamp()

    clock.advance(expires - clock.now() - 1)
    assert (await pass_status(client, issued["pass_id"]))["status"] == "unused"

    clock.advance(1)
    assert (await pass_status(client, issued["pass_id"]))["status"] == "expired"

    clock.advance(31)
    assert (await scan(client, gate_secret, issued["token"]))["reason"] == "expired"


async def test_generate_qr_of_an_expired_pass_is_409(client: Client, clock: FrozenClock) -> None:
    payment = await pay(client)
    issued = await new_pass_for(client, payment["payment_id"])
    clock.advance(datetime.fromisoformat(issued["expires_at"]).timestamp() - clock.now())

    response = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})

    assert response.status_code == 409
    assert "expired" in response.json()["detail"]


async def test_unknown_pass_is_404(client: Client) -> None:
    response = await client.get("/passes/nosuchpass000000")

    assert response.status_code == 404
    assert response.json()["detail"]


async def new_pass_for(client: Client, payment_id: str) -> dict[str, str]:
    response = await client.post("/generate_qr", json={"payment_id": payment_id})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def pass_status(client: Client, pass_id: str) -> dict[str, str]:
    response = await client.get(f"/passes/{pass_id}")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body
