"""POST /verify: each pass admits once, every authenticated attempt leaves one audit row."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gymgate.clock import FrozenClock
from tests.api.helpers import new_pass, scan
from tests.conftest import ADMIN_TOKEN

Client = AsyncTestClient[Litestar]


async def audit_rows(client: Client) -> list[dict[str, object]]:
    response = await client.get("/audit", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_first_scan_allows_and_second_is_already_used(
    client: Client, gate_secret: str
) -> None:
    issued = await new_pass(client)

    first = await scan(client, gate_secret, issued["token"])
    second = await scan(client, gate_secret, issued["token"])

    assert first["status"] == "allow"
    assert first["pass_id"] == issued["pass_id"]
    assert second == {
        "status": "deny",
        "reason": "already_used",
        "pass_id": issued["pass_id"],
        "used_at": second["used_at"],
        "used_gate": "front-door",
    }
    rows = await audit_rows(client)
    assert [(r["result"], r["reason"]) for r in rows] == [
        ("deny", "already_used"),
        ("allow", None),
    ]


async def test_regenerated_qr_of_a_used_pass_is_already_used(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    payment = (await client.post("/create_payment", json={"email": "b@example.com"})).json()
    first = (await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})).json()
    assert (await scan(client, gate_secret, first["token"]))["status"] == "allow"

    clock.advance(5)
    again = (await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})).json()

    assert again["token"] != first["token"]
    assert again["pass_id"] == first["pass_id"]
    assert again["expires_at"] == first["expires_at"]
    assert (await scan(client, gate_secret, again["token"]))["reason"] == "already_used"


async def test_wrong_gate_secret_is_401_and_consumes_nothing(
    client: Client, gate_secret: str
) -> None:
    issued = await new_pass(client)

    refused = await client.post(
        "/verify", json={"token": issued["token"]}, headers={"Authorization": "Bearer nope"}
    )
    missing = await client.post("/verify", json={"token": issued["token"]})

    assert refused.status_code == 401
    assert missing.status_code == 401
    assert "gate secret" in refused.json()["detail"]
    assert await audit_rows(client) == []
    assert (await scan(client, gate_secret, issued["token"]))["status"] == "allow"


async def test_an_allow_names_the_member_by_first_name_only(
    client: Client, gate_secret: str
) -> None:
    payment = await client.post(
        "/create_payment", json={"email": "ana.silva@example.com", "name": "  Ana Maria Silva "}
    )
    issued = await client.post("/generate_qr", json={"payment_id": payment.json()["payment_id"]})
    nameless = await new_pass(client, "bo@example.com")

    admitted = await scan(client, gate_secret, issued.json()["token"])
    again = await scan(client, gate_secret, issued.json()["token"])
    anonymous = await scan(client, gate_secret, nameless["token"])

    assert admitted["status"] == "allow"
    assert admitted["holder"] == "Ana"
    assert "ana.silva" not in str(admitted)  # never the email
    assert "holder" not in again  # a deny names nobody
    assert anonymous["status"] == "allow"
    assert "holder" not in anonymous  # no name given: the page says "Member"
