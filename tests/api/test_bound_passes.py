"""Passes bound to a phone over HTTP: issuance with device_key, the proof at /verify, moving a
pass to another phone (the old phone's codes revoked at once), and the settings' refusals."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from testkit.phones import Phone
from testkit.smtp import SmtpInbox, links_in

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.api.helpers import pay, scan

Client = AsyncTestClient[Litestar]


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox() as server:
        yield server


@pytest.fixture
def bound_settings(settings: Settings, inbox: SmtpInbox) -> Settings:
    return settings.replace(binding_mode="device", smtp_url=inbox.url)


@pytest.fixture
async def client(bound_settings: Settings, clock: FrozenClock) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(bound_settings, clock=clock)) as test_client:
        yield test_client


async def bound_pass(client: Client, phone: Phone, payment_id: str | None = None) -> Any:
    """/generate_qr with the phone's key: the JSON answer (asserting 201)."""
    if payment_id is None:
        payment_id = (await pay(client))["payment_id"]
    response = await client.post(
        "/generate_qr", json={"payment_id": payment_id, "device_key": phone.jwk}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    body["payment_id"] = payment_id
    return body


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


async def link_secret(inbox: SmtpInbox) -> str:
    [message] = await inbox.arrived(1)
    [link] = links_in(message)
    return urlsplit(link).fragment


async def test_info_tells_the_member_page_passes_are_bound(client: Client) -> None:
    info = (await client.get("/info")).json()
    assert info["pass_binding"] == "device"
    assert info["proof_window_seconds"] == 30


@pytest.mark.parametrize("curve", ["Ed25519", "P-256"])
async def test_a_bound_pass_is_admitted_once_from_its_phones_fresh_code(
    client: Client, gate_secret: str, clock: FrozenClock, curve: Any
) -> None:
    phone = Phone(curve)
    issued = await bound_pass(client, phone)
    assert issued["jkt"] == phone.jkt
    assert issued["server_time"] == clock.now()
    assert issued["qr"] is None  # the phone draws its own code, with a proof
    assert claims_of(issued["token"])["cnf"] == {"jwk": phone.jwk}

    clock.advance(20)
    code = phone.show(issued["token"], issued["pass_id"], clock.now())
    assert (await scan(client, gate_secret, code))["status"] == "allow"
    again = phone.show(issued["token"], issued["pass_id"], clock.now())
    assert (await scan(client, gate_secret, again))["reason"] == "already_used"


async def test_a_bound_token_without_its_proof_is_denied_invalid_claims(
    client: Client, gate_secret: str
) -> None:
    issued = await bound_pass(client, Phone())
    assert (await scan(client, gate_secret, issued["token"]))["reason"] == "invalid_claims"


async def test_a_screenshot_replayed_after_the_window_is_denied_expired(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    phone = Phone()
    issued = await bound_pass(client, phone)
    screenshot = phone.show(issued["token"], issued["pass_id"], clock.now())
    clock.advance(40)
    assert (await scan(client, gate_secret, screenshot))["reason"] == "expired"
    fresh = phone.show(issued["token"], issued["pass_id"], clock.now())
    assert (await scan(client, gate_secret, fresh))["status"] == "allow"


async def test_issuing_again_with_the_same_phone_keeps_its_older_codes_working(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    phone = Phone()
    first = await bound_pass(client, phone)
    again = await bound_pass(client, phone, first["payment_id"])
    assert again["pass_id"] == first["pass_id"]
    code = phone.show(first["token"], first["pass_id"], clock.now())
    assert (await scan(client, gate_secret, code))["status"] == "allow"


async def test_a_pass_moved_to_a_new_phone_denies_the_old_phone_at_once(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    old, new = Phone(), Phone("P-256")
    before = await bound_pass(client, old)
    after = await bound_pass(client, new, before["payment_id"])
    assert after["jkt"] == new.jkt != before["jkt"]
    status = (await client.get(f"/passes/{before['pass_id']}")).json()
    assert status["jkt"] == new.jkt  # the old phone can tell the pass moved

    stale = old.show(before["token"], before["pass_id"], clock.now())
    assert (await scan(client, gate_secret, stale))["reason"] == "revoked"
    fresh = new.show(after["token"], after["pass_id"], clock.now())
    assert (await scan(client, gate_secret, fresh))["status"] == "allow"


async def test_a_used_pass_cannot_move_to_another_phone(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    phone = Phone()
    issued = await bound_pass(client, phone)
    code = phone.show(issued["token"], issued["pass_id"], clock.now())
    assert (await scan(client, gate_secret, code))["status"] == "allow"

    moved = await client.post(
        "/generate_qr", json={"payment_id": issued["payment_id"], "device_key": Phone().jwk}
    )
    assert moved.status_code == 409
    assert "cannot move to another phone" in moved.json()["detail"]
    status = (await client.get(f"/passes/{issued['pass_id']}")).json()
    assert status["jkt"] == phone.jkt


async def test_opening_the_emailed_link_on_a_new_phone_moves_the_pass_there(
    client: Client, gate_secret: str, clock: FrozenClock, inbox: SmtpInbox
) -> None:
    old, new = Phone(), Phone()
    payment = await pay(client)
    secret = await link_secret(inbox)
    first = await client.post("/passes/by-link", json={"link": secret, "device_key": old.jwk})
    assert first.status_code == 200, first.text
    assert first.json()["jkt"] == old.jkt
    assert first.json()["qr"] is None

    opened = await client.post("/passes/by-link", json={"link": secret, "device_key": new.jwk})
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert body["jkt"] == new.jkt
    assert body["payment_id"] == payment["payment_id"]
    assert body["server_time"] == clock.now()

    stale = old.show(first.json()["token"], body["pass_id"], clock.now())
    assert (await scan(client, gate_secret, stale))["reason"] == "revoked"
    fresh = new.show(body["token"], body["pass_id"], clock.now())
    assert (await scan(client, gate_secret, fresh))["status"] == "allow"
    late = await client.post("/passes/by-link", json={"link": secret, "device_key": old.jwk})
    assert late.status_code == 409
    plain = await client.post("/passes/by-link", json={"link": secret})
    assert plain.status_code == 400
    assert "binds passes to the member's phone" in plain.json()["detail"]


async def test_a_gym_that_binds_passes_refuses_a_plain_one(client: Client) -> None:
    payment = await pay(client)
    for body in (
        {"payment_id": payment["payment_id"]},
        {"payment_id": payment["payment_id"], "format": "png"},
        {"payment_id": payment["payment_id"], "format": "svg", "device_key": Phone().jwk},
    ):
        response = await client.post("/generate_qr", json=body)
        assert response.status_code == 400, body
        assert "phone" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"d": "A" * 43}, "private key"),
        ({"kid": "mine"}, "exactly the members"),
        ({"crv": "Ed448"}, "Ed25519 (OKP) or P-256 (EC)"),
        ({"x": "A" * 42 + "B"}, "canonical base64url"),
        ({"x": 7}, "JSON object of strings"),
    ],
)
async def test_a_device_key_that_is_not_a_public_phone_key_is_refused(
    client: Client, change: dict[str, Any], words: str
) -> None:
    payment = await pay(client)
    key = {**Phone().jwk, **change}
    response = await client.post(
        "/generate_qr", json={"payment_id": payment["payment_id"], "device_key": key}
    )
    assert response.status_code == 400
    assert words in response.json()["detail"]


async def test_webcrypto_export_members_are_dropped_not_refused(client: Client) -> None:
    phone = Phone()
    exported = {**phone.jwk, "ext": True, "key_ops": ["verify"]}
    payment = await pay(client)
    response = await client.post(
        "/generate_qr", json={"payment_id": payment["payment_id"], "device_key": exported}
    )
    assert response.status_code == 201, response.text
    assert claims_of(response.json()["token"])["cnf"] == {"jwk": phone.jwk}


async def test_with_binding_off_a_device_key_is_refused(
    settings: Settings, clock: FrozenClock
) -> None:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as plain:
        payment = await pay(plain)
        response = await plain.post(
            "/generate_qr", json={"payment_id": payment["payment_id"], "device_key": Phone().jwk}
        )
        assert response.status_code == 400
        assert response.json()["detail"] == "pass binding is off on this server: send no device_key"


async def test_audit_rows_hold_neither_the_token_nor_the_proof(
    client: Client, gate_secret: str, clock: FrozenClock, runtime: Runtime
) -> None:
    phone = Phone()
    issued = await bound_pass(client, phone)
    code = phone.show(issued["token"], issued["pass_id"], clock.now())
    await scan(client, gate_secret, code)
    await scan(client, gate_secret, code.replace("~", "~~"))
    signature = code.rsplit("~", 1)[1]
    async with runtime.storage.reading() as session:
        rows = list(await session.scalars(select(AuditEvent)))
    assert len(rows) == 2
    for row in rows:
        stored = " ".join(str(value) for value in vars(row).values())
        assert issued["token"].split(".")[2] not in stored
        assert signature not in stored
