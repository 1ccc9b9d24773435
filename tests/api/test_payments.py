"""Payments over HTTP: create, look up, refund (which revokes the pass)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from sqlalchemy import select

from gymgate.clock import FrozenClock, to_iso
from gymgate.models import OperatorEvent
from gymgate.runtime import Runtime
from tests.api.helpers import (
    Client,
    admin_headers,
    audit_items,
    member_of,
    new_pass,
    pay,
    refund,
    scan,
)

PAYMENT_FIELDS = {"payment_id", "user_id", "status", "amount_cents", "currency", "created_at"}


async def test_create_payment_is_201_with_the_contract_shape(
    client: Client, clock: FrozenClock
) -> None:
    response = await client.post(
        "/create_payment", json={"email": "ana@example.com", "name": "Ana"}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= PAYMENT_FIELDS
    assert body["status"] == "completed"
    assert body["payment_id"].startswith("pay_")
    assert body["amount_cents"] == 1500
    assert body["currency"] == "EUR"
    assert body["created_at"] == to_iso(clock.now())


@pytest.mark.parametrize("outcome", ["completed", "failed", "pending"])
async def test_simulate_picks_the_mock_providers_outcome(client: Client, outcome: str) -> None:
    assert (await pay(client, simulate=outcome))["status"] == outcome


async def test_one_email_is_one_member_whatever_its_case(client: Client, runtime: Runtime) -> None:
    first = await pay(client, "ana@example.com")
    second = await pay(client, "  Ana@Example.COM ")
    other = await pay(client, "ben@example.com")

    assert await member_of(runtime, first["payment_id"]) == await member_of(
        runtime, second["payment_id"]
    )
    assert await member_of(runtime, other["payment_id"]) != await member_of(
        runtime, first["payment_id"]
    )
    assert first["payment_id"] != second["payment_id"]


async def test_paying_with_someone_elses_email_does_not_reveal_their_member_id(
    client: Client, runtime: Runtime
) -> None:
    member = await pay(client, "ana@example.com")
    token = (await client.post("/generate_qr", json={"payment_id": member["payment_id"]})).json()[
        "token"
    ]
    member_id = jwt.decode(token, options={"verify_signature": False})["sub"]

    stranger = await pay(client, "ana@example.com")  # someone else typing Ana's address

    assert member_id == await member_of(runtime, stranger["payment_id"])  # one member...
    assert stranger["user_id"] != member_id  # ...that the answer does not name
    assert stranger["user_id"] != member["user_id"]  # nor link to Ana's earlier payment
    looked_up = (await client.get(f"/payments/{stranger['payment_id']}")).json()
    assert looked_up["user_id"] == stranger["user_id"]  # stable for one payment


async def test_get_payment_returns_the_same_shape(client: Client) -> None:
    created = await pay(client)

    response = await client.get(f"/payments/{created['payment_id']}")

    assert response.status_code == 200
    assert response.json() == created


async def test_get_unknown_payment_is_404_with_detail(client: Client) -> None:
    response = await client.get("/payments/pay_doesnotexist0")

    assert response.status_code == 404
    assert "pay_doesnotexist0" in response.json()["detail"]


@pytest.mark.parametrize("outcome", ["pending", "failed"])
async def test_generate_qr_of_an_unfinished_payment_is_402(client: Client, outcome: str) -> None:
    payment = await pay(client, simulate=outcome)

    response = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})

    assert response.status_code == 402
    assert outcome in response.json()["detail"]


async def test_generate_qr_of_an_unknown_payment_is_404(client: Client) -> None:
    response = await client.post("/generate_qr", json={"payment_id": "pay_doesnotexist0"})

    assert response.status_code == 404
    assert response.json()["detail"]


async def test_refund_is_200_refunded_and_get_shows_it(client: Client) -> None:
    payment = await pay(client)

    refunded = await refund(client, payment["payment_id"])

    assert refunded == {**payment, "status": "refunded"}
    fetched = (await client.get(f"/payments/{payment['payment_id']}")).json()
    assert fetched["status"] == "refunded"


async def test_refund_revokes_the_pass_at_the_gate(client: Client, gate_secret: str) -> None:
    payment = await pay(client)
    issued = await qr_of(client, payment)

    await refund(client, payment["payment_id"])

    answer = await scan(client, gate_secret, issued["token"])
    assert answer["status"] == "deny"
    assert answer["reason"] == "revoked"
    (row,) = await audit_items(client)
    assert (row["result"], row["reason"], row["pass_id"]) == ("deny", "revoked", issued["pass_id"])


async def test_a_pass_that_admitted_someone_cannot_be_refunded_and_stays_used(
    client: Client, gate_secret: str
) -> None:
    payment = await pay(client)
    issued = await qr_of(client, payment)
    assert (await scan(client, gate_secret, issued["token"]))["status"] == "allow"

    response = await client.post(
        f"/payments/{payment['payment_id']}/refund", headers=admin_headers()
    )

    assert response.status_code == 409
    assert "admitted someone" in response.json()["detail"]
    assert (await client.get(f"/payments/{payment['payment_id']}")).json()["status"] == "completed"
    assert (await scan(client, gate_secret, issued["token"]))["reason"] == "already_used"
    status = (await client.get(f"/passes/{issued['pass_id']}")).json()
    assert status["status"] == "used"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer not-the-admin-token"}, 403)],
)
async def test_a_refund_needs_the_admin_token(
    client: Client, gate_secret: str, headers: dict[str, str], status: int
) -> None:
    payment = await pay(client)
    issued = await qr_of(client, payment)

    response = await client.post(f"/payments/{payment['payment_id']}/refund", headers=headers)

    assert response.status_code == status
    assert response.json()["detail"]
    assert (await scan(client, gate_secret, issued["token"]))["status"] == "allow"


async def test_each_refund_is_recorded_as_an_operator_event(
    client: Client, runtime: Runtime
) -> None:
    payment = await pay(client)

    await refund(client, payment["payment_id"])

    async with runtime.storage.reading() as session:
        events = (await session.scalars(select(OperatorEvent))).all()
    assert [(e.action, e.subject, e.detail) for e in events] == [
        ("refund", payment["payment_id"], "refunded")
    ]


async def test_generate_qr_after_refund_is_409(client: Client) -> None:
    payment = await pay(client)
    await qr_of(client, payment)
    await refund(client, payment["payment_id"])

    response = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})

    assert response.status_code == 409
    assert "refunded" in response.json()["detail"]


async def test_generate_qr_after_refund_before_any_qr_is_409(client: Client) -> None:
    payment = await pay(client)
    await refund(client, payment["payment_id"])

    response = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})

    assert response.status_code == 409


async def test_refund_twice_is_409(client: Client) -> None:
    payment = await pay(client)
    await refund(client, payment["payment_id"])

    response = await client.post(
        f"/payments/{payment['payment_id']}/refund", headers=admin_headers()
    )

    assert response.status_code == 409
    assert "refunded" in response.json()["detail"]


@pytest.mark.parametrize("outcome", ["pending", "failed"])
async def test_refund_of_an_unfinished_payment_is_409(client: Client, outcome: str) -> None:
    payment = await pay(client, simulate=outcome)

    response = await client.post(
        f"/payments/{payment['payment_id']}/refund", headers=admin_headers()
    )

    assert response.status_code == 409
    assert response.json()["detail"]


async def test_refund_of_an_unknown_payment_is_404(client: Client) -> None:
    response = await client.post("/payments/pay_doesnotexist0/refund", headers=admin_headers())

    assert response.status_code == 404
    assert response.json()["detail"]


async def test_other_passes_stay_valid_after_a_refund(client: Client, gate_secret: str) -> None:
    refunded = await pay(client, "ana@example.com")
    await qr_of(client, refunded)
    kept = await new_pass(client, "ana@example.com")

    await refund(client, refunded["payment_id"])

    assert (await scan(client, gate_secret, kept["token"]))["status"] == "allow"


async def qr_of(client: Client, payment: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
