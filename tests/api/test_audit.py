"""The audit log: one row per authenticated verify attempt, never the token; filters, paging."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gymgate.clock import FrozenClock, to_iso
from gymgate.keystore import KeyStore
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.api.helpers import (
    Client,
    admin_headers,
    audit_items,
    new_pass,
    pay,
    refund,
    scan,
    signed_token,
    stranger_keyset,
    tampered,
)
from tests.conftest import ADMIN_TOKEN, START


@dataclass
class Scene:
    client: Client
    secret: str
    clock: FrozenClock
    keys_dir: Path


@dataclass(frozen=True)
class Attempt:
    token: Any
    pass_id: str | None  # what the audit row should name


Arrange = Callable[[Scene], Awaitable[Attempt]]


def claims(clock: FrozenClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now())
    base: dict[str, Any] = {
        "iss": "gymgate",
        "sub": "usr_forged",
        "jti": "pas_forged",
        "iat": now,
        "exp": now + 3600,
    }
    return base | changes


async def allow(scene: Scene) -> Attempt:
    issued = await new_pass(scene.client)
    return Attempt(issued["token"], issued["pass_id"])


async def malformed(scene: Scene) -> Attempt:
    return Attempt("definitely not a pass", None)


async def bad_signature(scene: Scene) -> Attempt:
    return Attempt(tampered((await new_pass(scene.client))["token"]), None)


async def unknown_key(scene: Scene) -> Attempt:
    return Attempt(signed_token(stranger_keyset(), claims(scene.clock)), None)


async def expired(scene: Scene) -> Attempt:
    issued = await new_pass(scene.client)
    scene.clock.advance(86400 + 31)
    return Attempt(issued["token"], None)


async def not_yet_valid(scene: Scene) -> Attempt:
    ours = KeyStore(scene.keys_dir).load()
    future = int(scene.clock.now()) + 3600
    return Attempt(signed_token(ours, claims(scene.clock, iat=future, exp=future + 60)), None)


async def already_used(scene: Scene) -> Attempt:
    issued = await new_pass(scene.client)
    assert (await scan(scene.client, scene.secret, issued["token"]))["status"] == "allow"
    return Attempt(issued["token"], issued["pass_id"])


async def revoked(scene: Scene) -> Attempt:
    payment = await pay(scene.client)
    response = await scene.client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
    issued = response.json()
    await refund(scene.client, payment["payment_id"])
    return Attempt(issued["token"], issued["pass_id"])


async def invalid_claims(scene: Scene) -> Attempt:
    ours = KeyStore(scene.keys_dir).load()
    return Attempt(signed_token(ours, claims(scene.clock, iss="another-gym")), None)


ATTEMPTS: dict[str | None, Arrange] = {
    None: allow,
    "malformed": malformed,
    "bad_signature": bad_signature,
    "unknown_key": unknown_key,
    "expired": expired,
    "not_yet_valid": not_yet_valid,
    "already_used": already_used,
    "revoked": revoked,
    "invalid_claims": invalid_claims,
}


@pytest.fixture
def scene(client: Client, gate_secret: str, clock: FrozenClock, settings: Settings) -> Scene:
    return Scene(client, gate_secret, clock, settings.keys_dir)


async def stored_rows(runtime: Runtime) -> list[AuditEvent]:
    async with runtime.storage.writing() as session:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


@pytest.mark.parametrize("reason", list(ATTEMPTS), ids=lambda r: r or "allow")
async def test_every_attempt_writes_exactly_one_audit_row_with_its_reason(
    scene: Scene, runtime: Runtime, reason: str | None
) -> None:
    attempt = await ATTEMPTS[reason](scene)
    before = await stored_rows(runtime)

    answer = await scan(scene.client, scene.secret, attempt.token)

    after = await stored_rows(runtime)
    assert answer["status"] == ("allow" if reason is None else "deny")
    assert answer.get("reason") == reason
    assert len(after) == len(before) + 1
    row = after[-1]
    assert (row.result, row.reason) == (answer["status"], reason)
    assert row.gate == "front-door"
    assert row.pass_id == attempt.pass_id
    assert to_iso(row.at) == to_iso(scene.clock.now())
    assert row.token_sha256 == hashlib.sha256(attempt.token.encode()).hexdigest()


@pytest.mark.parametrize("token", [12345, None, ["a", "b"], {"token": "x"}, True])
async def test_a_token_that_is_not_a_string_is_400_and_audited_malformed(
    client: Client, gate_secret: str, runtime: Runtime, token: Any
) -> None:
    response = await client.post(
        "/verify", json={"token": token}, headers={"Authorization": f"Bearer {gate_secret}"}
    )

    assert response.status_code == 400
    assert "token" in response.json()["detail"]
    rows = await stored_rows(runtime)
    assert [(r.result, r.reason, r.gate) for r in rows] == [("deny", "malformed", "front-door")]


async def test_a_missing_token_is_400_and_audited_malformed(
    client: Client, gate_secret: str, runtime: Runtime
) -> None:
    response = await client.post(
        "/verify", json={"gate": "x"}, headers={"Authorization": f"Bearer {gate_secret}"}
    )

    assert response.status_code == 400
    assert [(r.result, r.reason) for r in await stored_rows(runtime)] == [("deny", "malformed")]


async def test_audit_rows_never_contain_the_token(scene: Scene, runtime: Runtime) -> None:
    tokens = []
    for arrange in ATTEMPTS.values():
        attempt = await arrange(scene)
        await scan(scene.client, scene.secret, attempt.token)
        tokens.append(attempt.token)

    rows = await stored_rows(runtime)

    assert len(rows) >= len(ATTEMPTS)
    stored = " ".join(
        str(getattr(row, column.key)) for row in rows for column in AuditEvent.__table__.columns
    )
    for token in tokens:
        for part in token.split("."):
            if len(part) >= 16:  # any long segment, not just the whole token
                assert part not in stored
    listed = str(await audit_items(scene.client, limit=500))
    assert not any(token in listed for token in tokens)


async def test_audit_items_have_the_contract_fields_newest_first(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    issued = await new_pass(client)
    await scan(client, gate_secret, issued["token"])
    clock.advance(10)
    await scan(client, gate_secret, issued["token"])

    items = await audit_items(client)

    assert {"at", "gate", "result", "reason", "pass_id", "user_id"} <= set(items[0])
    assert [(i["result"], i["reason"]) for i in items] == [
        ("deny", "already_used"),
        ("allow", None),
    ]
    assert items[0]["at"] == to_iso(START + 10)
    assert items[1]["at"] == to_iso(START)
    assert items[1]["pass_id"] == issued["pass_id"]
    assert items[1]["user_id"] is not None


async def scan_a_mix(client: Client, secret: str, side_secret: str, clock: FrozenClock) -> None:
    """At START: allow + already_used at front-door; at START+3600: allow + junk at side-door."""
    first = await new_pass(client)
    await scan(client, secret, first["token"])
    await scan(client, secret, first["token"])
    clock.advance(3600)
    second = await new_pass(client, "ben@example.com")
    await scan(client, side_secret, second["token"], gate="side-door")
    await scan(client, side_secret, "junk", gate="side-door")


@pytest.fixture
async def side_secret(runtime: Runtime, clock: FrozenClock) -> str:
    return await runtime.gates.add("side-door")


SIDE = [("side-door", "deny"), ("side-door", "allow")]
FILTERS: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
    ({}, [*SIDE, ("front-door", "deny"), ("front-door", "allow")]),
    ({"result": "allow"}, [("side-door", "allow"), ("front-door", "allow")]),
    ({"result": "deny"}, [("side-door", "deny"), ("front-door", "deny")]),
    ({"reason": "already_used"}, [("front-door", "deny")]),
    ({"reason": "malformed"}, [("side-door", "deny")]),
    ({"gate": "side-door"}, SIDE),
    ({"gate": "side-door", "result": "allow"}, [("side-door", "allow")]),
    ({"gate": "nowhere"}, []),
    ({"since": to_iso(START + 1800)}, SIDE),
    ({"since": to_iso(START + 1800).removesuffix("Z")}, SIDE),  # no offset: read as UTC
    ({"since": to_iso(START + 3600)}, SIDE),  # inclusive
    ({"since": to_iso(START + 3601)}, []),
]


async def test_audit_filters_by_result_reason_gate_and_since(
    client: Client, gate_secret: str, side_secret: str, clock: FrozenClock
) -> None:
    await scan_a_mix(client, gate_secret, side_secret, clock)

    found = {}
    for params, _ in FILTERS:
        items = await audit_items(client, **params)
        found[str(params)] = [(i["gate"], i["result"]) for i in items]

    assert found == {str(params): expected for params, expected in FILTERS}


async def test_audit_filter_by_pass_id(client: Client, gate_secret: str) -> None:
    first = await new_pass(client)
    second = await new_pass(client, "ben@example.com")
    for token in (first["token"], second["token"], first["token"]):
        await scan(client, gate_secret, token)

    items = await audit_items(client, pass_id=first["pass_id"])

    assert [(i["pass_id"], i["reason"]) for i in items] == [
        (first["pass_id"], "already_used"),
        (first["pass_id"], None),
    ]


async def test_limit_and_next_before_page_through_everything_once(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    for n in range(5):
        await scan(client, gate_secret, f"junk-{n}")
        clock.advance(1)
    everything = await audit_items(client)

    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        response = await client.get("/audit", params=params, headers=admin_headers())
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        if body["next_before"] is None:
            break
        params = {"limit": 2, "before": body["next_before"]}

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [item for page in pages for item in page] == everything
    assert len(everything) == 5


async def test_an_exactly_full_last_page_has_no_next_before(
    client: Client, gate_secret: str
) -> None:
    for n in range(2):
        await scan(client, gate_secret, f"junk-{n}")

    response = await client.get("/audit", params={"limit": 2}, headers=admin_headers())

    assert response.json()["next_before"] is None
    assert len(response.json()["items"]) == 2


OPERATOR_PATHS = ["/audit", "/audit/summary", "/keys"]


@pytest.mark.parametrize("path", OPERATOR_PATHS)
async def test_operator_views_without_a_token_are_401(client: Client, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 401
    assert response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Basic dGVzdDp0ZXN0", "Bearer", "Bearer ", ADMIN_TOKEN])
async def test_an_admin_token_not_sent_as_bearer_is_401(client: Client, header: str) -> None:
    response = await client.get("/audit", headers={"Authorization": header})

    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


@pytest.mark.parametrize("path", OPERATOR_PATHS)
async def test_operator_views_with_a_wrong_bearer_token_are_403(client: Client, path: str) -> None:
    response = await client.get(path, headers={"Authorization": "Bearer wrong-token"})

    assert response.status_code == 403


async def test_a_gate_secret_is_not_an_admin_token(client: Client, gate_secret: str) -> None:
    response = await client.get("/audit", headers={"Authorization": f"Bearer {gate_secret}"})

    assert response.status_code == 403


async def test_audit_summary_totals_by_result_and_reason(
    client: Client, gate_secret: str, side_secret: str, clock: FrozenClock
) -> None:
    await scan_a_mix(client, gate_secret, side_secret, clock)

    everything = await client.get("/audit/summary", headers=admin_headers())
    side_only = await client.get(
        "/audit/summary", params={"gate": "side-door"}, headers=admin_headers()
    )

    assert everything.status_code == 200
    assert everything.json() == {
        "total": 4,
        "by_result": {"allow": 2, "deny": 2},
        "by_reason": {"already_used": 1, "malformed": 1},
        "by_gate": {"front-door": 2, "side-door": 2},
        "conflicts": 0,
    }
    assert side_only.json() == {
        "total": 2,
        "by_result": {"allow": 1, "deny": 1},
        "by_reason": {"malformed": 1},
        "by_gate": {"side-door": 2},
        "conflicts": 0,
    }


async def test_audit_summary_of_nothing_is_zero(client: Client) -> None:
    response = await client.get("/audit/summary", headers=admin_headers())

    assert response.json() == {
        "total": 0,
        "by_result": {},
        "by_reason": {},
        "by_gate": {},
        "conflicts": 0,
    }


async def test_keys_lists_the_key_set_without_private_material(
    client: Client, settings: Settings
) -> None:
    response = await client.get("/keys", headers=admin_headers())

    assert response.status_code == 200
    entries = KeyStore(settings.keys_dir).load().entries
    assert response.json() == {
        "items": [{"kid": e.kid, "status": e.status, "created_at": e.created_at} for e in entries]
    }
