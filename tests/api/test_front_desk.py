"""The operator's API for the front desk: who came in, totals over a range, series per hour
and per day, keys rotated and retired from the page, and payments found to refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from tests.api.helpers import Client, admin_headers, new_pass, pay, refund, scan
from tests.conftest import START

T0 = datetime.fromtimestamp(START, tz=UTC)  # 2027-01-14T08:00:00Z


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def event(
    hours: float, reason: str | None = None, gate: str = "front-door", **more: Any
) -> AuditEvent:
    return AuditEvent(
        at=at(hours),
        gate=gate,
        result="deny" if reason else "allow",
        reason=reason,
        token_sha256="0" * 64,
        mode=more.pop("mode", "online"),
        **more,
    )


async def store(runtime: Runtime, *events: AuditEvent) -> None:
    async with runtime.storage.writing() as session:
        session.add_all(events)


async def get(client: Client, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


# ---- who came in --------------------------------------------------------------------------


async def test_entries_name_the_member_and_search_by_name_or_email(
    client: Client, gate_secret: str
) -> None:
    for email, name in [("ana@example.com", "Ana Lima"), ("bo@example.com", "Bo Berg")]:
        payment = await pay(client, email, name=name)
        issued = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
        assert (await scan(client, gate_secret, issued.json()["token"]))["status"] == "allow"
    await scan(client, gate_secret, "junk")  # a deny is not an entry

    everyone = (await get(client, "/audit/entries"))["items"]
    by_name = (await get(client, "/audit/entries", q="LIMA"))["items"]
    by_email = (await get(client, "/audit/entries", q="bo@EX"))["items"]

    assert [(e["name"], e["email"]) for e in everyone] == [
        ("Bo Berg", "bo@example.com"),
        ("Ana Lima", "ana@example.com"),
    ]  # newest first
    assert everyone[0]["gate"] == "front-door"
    assert everyone[0]["at"].endswith("Z")
    assert [e["email"] for e in by_name] == ["ana@example.com"]
    assert [e["name"] for e in by_email] == ["Bo Berg"]
    assert (await get(client, "/audit/entries", q="%"))["items"] == []  # no LIKE wildcards


async def test_entries_follow_the_time_range_and_page(client: Client, runtime: Runtime) -> None:
    await store(runtime, *(event(h) for h in range(5)), event(2.5, reason="expired"))

    window = await get(client, "/audit/entries", since=at(1).isoformat(), until=at(3).isoformat())
    first = await get(client, "/audit/entries", limit=3)
    rest = await get(client, "/audit/entries", limit=3, before=first["next_before"])

    assert [e["at"] for e in window["items"]] == ["2027-01-14T10:00:00Z", "2027-01-14T09:00:00Z"]
    assert len(first["items"]) == 3
    assert len(rest["items"]) == 2
    assert rest["next_before"] is None
    assert rest["items"][0]["email"] is None  # a pass with no member of ours: no name


# ---- totals and series --------------------------------------------------------------------


async def test_the_summary_counts_a_range_by_gate_and_double_entries(
    client: Client, runtime: Runtime
) -> None:
    await store(
        runtime,
        event(0),
        event(1, gate="side-door"),
        event(1.5, mode="offline", conflict="already_used"),
        event(2, reason="expired", gate="side-door"),
        event(30),  # tomorrow: outside the range
    )

    summary = await get(client, "/audit/summary", since=at(0).isoformat(), until=at(24).isoformat())

    assert summary["total"] == 4
    assert summary["by_result"] == {"allow": 3, "deny": 1}
    assert summary["by_reason"] == {"expired": 1}
    assert summary["by_gate"] == {"front-door": 2, "side-door": 2}
    assert summary["conflicts"] == 1


async def test_the_series_counts_allows_and_denies_per_hour_with_no_gaps(
    client: Client, runtime: Runtime
) -> None:
    await store(
        runtime,
        event(0.1),
        event(0.2),
        event(0.5, reason="malformed"),
        event(2.9, gate="side-door"),
    )

    hours = await get(
        client, "/audit/series", since=at(0).isoformat(), until=at(4).isoformat(), bucket="hour"
    )
    side = await get(
        client, "/audit/series", since=at(0).isoformat(), until=at(4).isoformat(), gate="side-door"
    )

    assert [(b["start"], b["allow"], b["deny"]) for b in hours["items"]] == [
        ("2027-01-14T08:00:00+00:00", 2, 1),
        ("2027-01-14T09:00:00+00:00", 0, 0),
        ("2027-01-14T10:00:00+00:00", 1, 0),
        ("2027-01-14T11:00:00+00:00", 0, 0),
    ]
    assert [b["allow"] for b in side["items"]] == [0, 0, 1, 0]


async def test_the_series_counts_local_days_in_the_operators_zone(
    client: Client, runtime: Runtime
) -> None:
    await store(runtime, event(0), event(12, reason="revoked"), event(15.5))
    since = datetime(2027, 1, 14, tzinfo=UTC).isoformat()
    until = datetime(2027, 1, 17, tzinfo=UTC).isoformat()

    utc = await get(client, "/audit/series", since=since, until=until, bucket="day")
    auckland = await get(
        client,
        "/audit/series",
        since="2027-01-14T00:00:00+13:00",
        until="2027-01-17T00:00:00+13:00",
        bucket="day",
        tz="Pacific/Auckland",
    )

    assert [(b["start"][:10], b["allow"], b["deny"]) for b in utc["items"]] == [
        ("2027-01-14", 2, 1),
        ("2027-01-15", 0, 0),
        ("2027-01-16", 0, 0),
    ]
    # In Auckland 08:00Z is 21:00 on the 14th; 20:00Z and 23:30Z are the 15th.
    assert [(b["start"], b["allow"], b["deny"]) for b in auckland["items"]] == [
        ("2027-01-14T00:00:00+13:00", 1, 0),
        ("2027-01-15T00:00:00+13:00", 1, 1),
        ("2027-01-16T00:00:00+13:00", 0, 0),
    ]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"since": "2027-01-14T00:00:00Z"}, "until"),
        ({"since": "2027-01-14T00:00:00Z", "until": "2027-01-13T00:00:00Z"}, "until"),
        ({"since": "2027-01-01T00:00:00Z", "until": "2027-06-01T00:00:00Z"}, "at most"),
        (
            {"since": "2027-01-14T00:00:00Z", "until": "2027-01-15T00:00:00Z", "bucket": "week"},
            "bucket",
        ),
        (
            {"since": "2027-01-14T00:00:00Z", "until": "2027-01-15T00:00:00Z", "tz": "Mars/Base"},
            "time zone",
        ),
    ],
)
async def test_a_bad_series_query_is_400_with_a_detail(
    client: Client, params: dict[str, str], says: str
) -> None:
    response = await client.get("/audit/series", params=params, headers=admin_headers())

    assert response.status_code == 400
    assert says in str(response.json())


# ---- keys from the page -------------------------------------------------------------------


async def test_the_operator_rotates_and_retires_keys_over_http(
    client: Client, gate_secret: str
) -> None:
    old_pass = await new_pass(client)
    old_kid = (await get(client, "/keys"))["items"][0]["kid"]

    rotated = await client.post("/keys/rotate", headers=admin_headers())
    assert rotated.status_code == 201
    new_kid = rotated.json()["kid"]
    statuses = {k["kid"]: k["status"] for k in (await get(client, "/keys"))["items"]}
    assert statuses == {old_kid: "verify-only", new_kid: "active"}

    active = await client.post(f"/keys/{new_kid}/retire", headers=admin_headers())
    assert active.status_code == 409
    assert "active" in active.json()["detail"]
    unknown = await client.post("/keys/nope/retire", headers=admin_headers())
    assert unknown.status_code == 404

    retired = await client.post(f"/keys/{old_kid}/retire", headers=admin_headers())
    assert retired.status_code == 200
    assert retired.json()["status"] == "retired"
    answer = await scan(client, gate_secret, old_pass["token"])
    assert answer == {"status": "deny", "reason": "unknown_key"}


async def test_key_actions_need_the_admin_token(client: Client) -> None:
    assert (await client.post("/keys/rotate")).status_code == 401
    assert (await client.post("/keys/x/retire")).status_code == 401


# ---- payments for the front desk ----------------------------------------------------------


async def test_payments_are_found_by_email_or_id_with_their_pass_state(
    client: Client, gate_secret: str
) -> None:
    unused = await pay(client, "ana@example.com", name="Ana Lima")
    used = await pay(client, "ana@example.com")
    await client.post("/generate_qr", json={"payment_id": unused["payment_id"]})
    token = (await client.post("/generate_qr", json={"payment_id": used["payment_id"]})).json()
    await scan(client, gate_secret, token["token"])
    refunded = await pay(client, "bo@example.com", name="Bo")
    await client.post("/generate_qr", json={"payment_id": refunded["payment_id"]})
    await refund(client, refunded["payment_id"])
    await pay(client, "cy@example.com")  # no QR yet: no pass

    ana = (await get(client, "/payments", email="Ana@Example.com"))["items"]
    by_id = (await get(client, "/payments", q=refunded["payment_id"]))["items"]
    by_name = (await get(client, "/payments", q="lim"))["items"]
    no_pass = (await get(client, "/payments", q="cy@"))["items"]

    assert {p["payment_id"]: p["pass_state"] for p in ana} == {
        unused["payment_id"]: "unused",
        used["payment_id"]: "used",
    }
    assert next(p for p in ana if p["pass_state"] == "used")["used_gate"] == "front-door"
    assert [(p["status"], p["pass_state"]) for p in by_id] == [("refunded", "revoked")]
    assert {p["email"] for p in by_name} == {"ana@example.com"}
    assert [(p["pass_id"], p["pass_state"]) for p in no_pass] == [(None, None)]


async def test_payments_list_needs_the_admin_token_and_a_real_email(client: Client) -> None:
    assert (await client.get("/payments")).status_code == 401
    bad = await client.get("/payments", params={"email": "not-an-address"}, headers=admin_headers())
    assert bad.status_code == 400
    assert "email" in bad.json()["detail"]


async def test_a_used_pass_is_not_refunded_and_says_why(client: Client, gate_secret: str) -> None:
    payment = await pay(client)
    token = (await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})).json()
    await scan(client, gate_secret, token["token"])

    response = await client.post(
        f"/payments/{payment['payment_id']}/refund", headers=admin_headers()
    )

    assert response.status_code == 409
    assert response.json()["detail"]
