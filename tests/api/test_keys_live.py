"""A running server notices `gymgate keys rotate` and `keys retire` without a restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from gymgate.settings import Settings
from tests.api.helpers import Client, admin_headers, new_pass, pay, run_cli, scan

# The settings fixture checks keys/ every second; the contract says "within a few seconds".
NOTICE_DEADLINE_SECONDS = 5.0


def cli(settings: Settings, *args: str) -> str:
    """Run a CLI command on the test's keys dir; its last line."""
    result = run_cli({"GYMGATE_KEYS_DIR": str(settings.keys_dir)}, *args)
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip("\n").rsplit("\n", 1)[-1]


async def jwks_kids(client: Client) -> set[str]:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return {key["kid"] for key in response.json()["keys"]}


async def wait_for_kids(client: Client, expected: set[str]) -> float:
    """Poll the JWKS until it lists exactly `expected`; how long that took."""
    started = time.monotonic()
    deadline = started + NOTICE_DEADLINE_SECONDS
    while (kids := await jwks_kids(client)) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"after {NOTICE_DEADLINE_SECONDS}s the server still serves {kids}")
        await asyncio.sleep(0.05)  # polling for a change on disk, bounded by the deadline
    return time.monotonic() - started


def kid_of(token: str) -> Any:
    return jwt.get_unverified_header(token)["kid"]


async def qr(client: Client, payment_id: str) -> dict[str, Any]:
    response = await client.post("/generate_qr", json={"payment_id": payment_id})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_rotation_by_the_cli_is_noticed_and_old_tokens_still_allow(
    client: Client, gate_secret: str, settings: Settings
) -> None:
    (old_kid,) = await jwks_kids(client)
    old_token = (await new_pass(client, "old@example.com"))["token"]
    assert kid_of(old_token) == old_kid

    new_kid = cli(settings, "keys", "rotate")
    await wait_for_kids(client, {old_kid, new_kid})

    new_token = (await new_pass(client, "new@example.com"))["token"]
    assert kid_of(new_token) == new_kid
    assert (await scan(client, gate_secret, old_token))["status"] == "allow"
    assert (await scan(client, gate_secret, new_token))["status"] == "allow"
    jwks = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert all(set(key) == {"kty", "crv", "x", "kid", "use", "alg"} for key in jwks)
    listed = (await client.get("/keys", headers=admin_headers())).json()["items"]
    assert {(k["kid"], k["status"]) for k in listed} == {
        (old_kid, "verify-only"),
        (new_kid, "active"),
    }


async def test_a_retirement_by_the_cli_is_noticed_and_old_tokens_deny_unknown_key(
    client: Client, gate_secret: str, settings: Settings
) -> None:
    (old_kid,) = await jwks_kids(client)
    payment = await pay(client)
    old = await qr(client, payment["payment_id"])
    new_kid = cli(settings, "keys", "rotate")
    await wait_for_kids(client, {old_kid, new_kid})

    cli(settings, "keys", "retire", old_kid)
    await wait_for_kids(client, {new_kid})

    assert await scan(client, gate_secret, old["token"]) == {
        "status": "deny",
        "reason": "unknown_key",
    }
    again = await qr(client, payment["payment_id"])  # the pass lives on, re-signed
    assert kid_of(again["token"]) == new_kid
    assert again["pass_id"] == old["pass_id"]
    assert (await scan(client, gate_secret, again["token"]))["status"] == "allow"
