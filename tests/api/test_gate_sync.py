"""The gate sync API: state for offline decisions, uploads recorded once, gate credentials."""

from __future__ import annotations

from typing import Any

import pytest

from gymgate.clock import FrozenClock, to_iso
from gymgate.runtime import Runtime
from tests.api.helpers import (
    Client,
    admin_headers,
    audit_items,
    new_pass,
    pay,
    refund,
    scan,
    tampered,
)
from tests.conftest import START


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def state(client: Client, secret: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/gate/state", params=params, headers=bearer(secret))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def upload(client: Client, secret: str, *decisions: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/gate/decisions", json={"decisions": list(decisions)}, headers=bearer(secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def allow(decision_id: str, token: str, at: float) -> dict[str, Any]:
    return {"id": decision_id, "token": token, "at": to_iso(at), "result": "allow"}


async def test_state_gives_keys_rules_and_server_time(
    client: Client, gate_secret: str, runtime: Runtime
) -> None:
    body = await state(client, gate_secret, pending=3)

    assert body["gate"] == "front-door"
    assert body["server_epoch"] == START
    assert body["server_time"] == to_iso(START)
    assert body["issuer"] == "gymgate"
    assert body["leeway_seconds"] == 30
    assert body["max_token_lifetime_seconds"] == 86400 + 30
    assert [k["kid"] for k in body["jwks"]["keys"]] == [runtime.keys.current().active_kid]
    assert body["revoked"] == []
    assert body["used"] == []
    gates = (await client.get("/gates", headers=admin_headers())).json()["items"]
    assert gates[0]["last_sync_at"] == to_iso(START)
    assert gates[0]["pending_uploads"] == 3
    assert gates[0]["online"] is True


async def test_state_needs_a_gate_secret(client: Client, gate_secret: str) -> None:
    response = await client.get("/gate/state", headers=bearer("not-a-secret"))

    assert response.status_code == 401
    assert "gate secret" in response.json()["detail"]


async def test_state_lists_revoked_passes_and_uses_since_the_cursor(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    used = await new_pass(client, "used@example.com")
    await scan(client, gate_secret, used["token"])
    payment = await pay(client, "refunded@example.com")
    revoked = (await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})).json()
    await refund(client, payment["payment_id"])
    clock.advance(600)

    first = await state(client, gate_secret)
    assert [r["pass_id"] for r in first["revoked"]] == [revoked["pass_id"]]
    assert [(u["pass_id"], u["gate"]) for u in first["used"]] == [(used["pass_id"], "front-door")]

    clock.advance(600)
    later = await state(client, gate_secret, since=first["cursor"])
    assert later["used"] == []  # nothing new since
    assert [r["pass_id"] for r in later["revoked"]] == [revoked["pass_id"]]  # always all


async def test_an_offline_use_uploaded_late_reaches_gates_that_synced_after_its_scan(
    client: Client, gate_secret: str, runtime: Runtime, clock: FrozenClock
) -> None:
    other = await runtime.gates.add("back-door")
    issued = await new_pass(client)
    scanned_at = clock.now()
    clock.advance(600)
    cursor = (await state(client, gate_secret))["cursor"]
    clock.advance(600)

    await upload(client, other, allow("decision-1", issued["token"], scanned_at))

    used = (await state(client, gate_secret, since=cursor))["used"]
    assert [(u["pass_id"], u["at"], u["gate"]) for u in used] == [
        (issued["pass_id"], to_iso(scanned_at), "back-door")
    ]


async def test_bad_cursor_is_400(client: Client, gate_secret: str) -> None:
    response = await client.get("/gate/state?since=yesterday", headers=bearer(gate_secret))

    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


async def test_offline_allow_is_audited_once_at_its_scan_time(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    issued = await new_pass(client)
    scanned_at = clock.now() + 5
    clock.advance(120)
    decision = allow("abcdefgh-1", issued["token"], scanned_at)

    first = await upload(client, gate_secret, decision)
    again = await upload(client, gate_secret, decision)

    assert first == {"acknowledged": ["abcdefgh-1"], "conflicts": [], "rejected": []}
    assert again == first
    items = await audit_items(client)
    assert [(i["at"], i["result"], i["mode"], i["conflict"]) for i in items] == [
        (to_iso(scanned_at), "allow", "offline", None)
    ]
    assert items[0]["pass_id"] == issued["pass_id"]
    online = await scan(client, gate_secret, issued["token"])
    assert online["reason"] == "already_used"


async def test_second_use_found_at_upload_is_an_allow_with_a_conflict(
    client: Client, gate_secret: str, runtime: Runtime, clock: FrozenClock
) -> None:
    other = await runtime.gates.add("back-door")
    issued = await new_pass(client)
    await scan(client, gate_secret, issued["token"])
    clock.advance(60)

    body = await upload(client, other, allow("offline-second", issued["token"], clock.now()))

    assert body["conflicts"] == [{"id": "offline-second", "conflict": "already_used"}]
    newest = (await audit_items(client))[0]
    assert (newest["gate"], newest["result"], newest["mode"], newest["conflict"]) == (
        "back-door",
        "allow",
        "offline",
        "already_used",
    )
    conflicts = (await client.get("/gates/conflicts", headers=admin_headers())).json()["items"]
    assert conflicts == [
        {
            "pass_id": issued["pass_id"],
            "user_id": issued_user(newest),
            "first": {"at": to_iso(START), "gate": "front-door", "mode": "online"},
            "second": {
                "at": to_iso(START + 60),
                "gate": "back-door",
                "mode": "offline",
                "conflict": "already_used",
            },
        }
    ]


def issued_user(item: dict[str, Any]) -> str:
    user: str = item["user_id"]
    return user


async def test_offline_admission_of_a_revoked_pass_is_a_revoked_conflict(
    client: Client, gate_secret: str
) -> None:
    payment = await pay(client)
    issued = (await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})).json()
    await refund(client, payment["payment_id"])

    body = await upload(client, gate_secret, allow("offline-rev1", issued["token"], START))

    assert body["conflicts"] == [{"id": "offline-rev1", "conflict": "revoked"}]


async def test_a_late_upload_is_judged_at_the_scan_time_not_expired(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    issued = await new_pass(client)
    clock.advance(2 * 86400)  # the pass has long expired by the time the gate syncs

    body = await upload(client, gate_secret, allow("late-upload", issued["token"], START + 60))

    assert body["rejected"] == []
    assert body["conflicts"] == []
    assert (await audit_items(client))[0]["result"] == "allow"


async def test_an_offline_allow_of_a_tampered_token_is_recorded_as_its_deny(
    client: Client, gate_secret: str
) -> None:
    issued = await new_pass(client)

    body = await upload(client, gate_secret, allow("tampered-1", tampered(issued["token"]), START))

    assert body["acknowledged"] == ["tampered-1"]
    assert body["rejected"] == [{"id": "tampered-1", "reason": "bad_signature"}]
    item = (await audit_items(client))[0]
    assert (item["result"], item["reason"], item["mode"]) == ("deny", "bad_signature", "offline")


async def test_offline_denies_are_recorded_as_decided(client: Client, gate_secret: str) -> None:
    deny = {"id": "deny-junk-1", "token": "junk", "at": to_iso(START), "result": "deny"}

    await upload(client, gate_secret, {**deny, "reason": "malformed"})

    item = (await audit_items(client))[0]
    assert (item["result"], item["reason"], item["mode"]) == ("deny", "malformed", "offline")


@pytest.mark.parametrize(
    ("decisions", "words"),
    [
        ([{"id": "short", "token": "x", "at": "2027-01-14T08:00:00Z", "result": "allow"}], "id"),
        (
            [{"id": "no-reason-1", "token": "x", "at": "2027-01-14T08:00:00Z", "result": "deny"}],
            "reason",
        ),
        ([allow(f"decision-{n:04}", "x", START) for n in range(501)], "500"),
    ],
    ids=["short-id", "deny-without-reason", "too-many"],
)
async def test_bad_uploads_are_400_and_record_nothing(
    client: Client, gate_secret: str, decisions: list[dict[str, Any]], words: str
) -> None:
    response = await client.post(
        "/gate/decisions", json={"decisions": decisions}, headers=bearer(gate_secret)
    )

    assert response.status_code == 400
    assert words in response.json()["detail"] + str(response.json().get("extra", ""))
    assert await audit_items(client) == []


async def test_revoked_gate_is_refused_and_told_so(
    client: Client, gate_secret: str, runtime: Runtime
) -> None:
    response = await client.post("/gates/front-door/revoke", headers=admin_headers())
    assert response.status_code == 200
    assert response.json()["revoked_at"] == to_iso(START)

    refused = await client.get("/gate/state", headers=bearer(gate_secret))
    assert refused.status_code == 401
    assert refused.json()["detail"].startswith("this gate was revoked")
    verify = await client.post("/verify", json={"token": "x"}, headers=bearer(gate_secret))
    assert verify.status_code == 401


async def test_rotate_replaces_the_secret(client: Client, gate_secret: str) -> None:
    response = await client.post("/gates/front-door/rotate", headers=admin_headers())

    body = response.json()
    assert body["enrollment_code"] == f"gymgate-gate:1:front-door:{body['secret']}"
    assert (await client.get("/gate/state", headers=bearer(gate_secret))).status_code == 401
    assert (await client.get("/gate/state", headers=bearer(body["secret"]))).status_code == 200


async def test_enrollment_code_is_exchanged_once_for_a_secret(client: Client) -> None:
    created = await client.post("/gates", json={"name": "side-door"}, headers=admin_headers())
    assert created.status_code == 201
    code_secret = created.json()["enrollment_code"].rsplit(":", 1)[1]

    enrolled = await client.post("/gate/enroll", headers=bearer(code_secret))
    again = await client.post("/gate/enroll", headers=bearer(code_secret))

    assert enrolled.status_code == 200
    assert enrolled.json()["gate"] == "side-door"
    assert again.status_code == 401
    new_secret = enrolled.json()["secret"]
    assert (await client.get("/gate/state", headers=bearer(new_secret))).status_code == 200


async def test_gates_list_and_add_need_the_admin_token(client: Client) -> None:
    assert (await client.get("/gates")).status_code == 401
    assert (await client.post("/gates", json={"name": "x"})).status_code == 401


async def test_a_gate_not_heard_from_for_minutes_is_not_online(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    await state(client, gate_secret)
    clock.advance(121)

    gates = (await client.get("/gates", headers=admin_headers())).json()["items"]

    assert [(g["name"], g["online"]) for g in gates] == [("front-door", False)]


async def test_a_gate_that_only_scans_is_seen_at_its_last_scan(
    client: Client, gate_secret: str, clock: FrozenClock
) -> None:
    """A turnstile that never syncs is still shown as heard from, at its latest scan."""
    await scan(client, gate_secret, (await new_pass(client))["token"])
    clock.advance(90)
    await scan(client, gate_secret, (await new_pass(client))["token"])

    gates = (await client.get("/gates", headers=admin_headers())).json()["items"]

    assert [(g["last_seen_at"], g["last_sync_at"], g["online"]) for g in gates] == [
        (to_iso(START + 90), None, True)
    ]


async def test_an_id_sent_twice_in_one_upload_is_recorded_once(
    client: Client, gate_secret: str
) -> None:
    issued = await new_pass(client)
    decision = allow("twice-in-one", issued["token"], START)

    body = await upload(client, gate_secret, decision, decision)

    assert body["acknowledged"] == ["twice-in-one", "twice-in-one"]
    assert body["conflicts"] == []
    assert len(await audit_items(client)) == 1
