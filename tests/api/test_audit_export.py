"""GET /audit/export.csv: a header row, then every matching attempt, streamed; filters, the
admin token, and cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from tests.api.helpers import Client, admin_headers, new_pass, scan
from tests.conftest import START

HEADER = ["at", "gate", "result", "reason", "pass_id", "user_id", "mode", "conflict"]
T0 = datetime.fromtimestamp(START, tz=UTC)


def event(
    minutes: int, gate: str = "front-door", reason: str | None = None, **more: str
) -> AuditEvent:
    return AuditEvent(
        at=T0 + timedelta(minutes=minutes),
        gate=gate,
        result="deny" if reason else "allow",
        reason=reason,
        token_sha256="0" * 64,
        mode="online",
        **more,
    )


async def store(runtime: Runtime, *events: AuditEvent) -> None:
    async with runtime.storage.writing() as session:
        session.add_all(events)


async def export(client: Client, **params: str) -> list[dict[str, str]]:
    response = await client.get("/audit/export.csv", params=params, headers=admin_headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == HEADER
    return [dict(zip(HEADER, line, strict=True)) for line in lines[1:]]


async def test_the_export_has_a_header_row_then_a_real_scan(
    client: Client, gate_secret: str
) -> None:
    issued = await new_pass(client)
    await scan(client, gate_secret, issued["token"])
    await scan(client, gate_secret, issued["token"])

    response = await client.get("/audit/export.csv", headers=admin_headers())

    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert disposition.endswith('.csv"')
    rows = await export(client)
    assert [(r["result"], r["reason"], r["gate"]) for r in rows] == [
        ("allow", "", "front-door"),
        ("deny", "already_used", "front-door"),
    ]
    assert rows[0]["pass_id"] == issued["pass_id"]
    assert rows[0]["user_id"] != ""
    assert rows[0]["mode"] == "online"
    assert rows[0]["conflict"] == ""
    assert issued["token"] not in response.text


async def test_every_row_is_exported_not_just_a_page(client: Client, runtime: Runtime) -> None:
    # More rows than one export chunk (5000) and than /audit's largest page (500).
    await store(runtime, *(event(n, reason="malformed") for n in range(5321)))

    rows = await export(client)

    assert len(rows) == 5321
    assert {r["reason"] for r in rows} == {"malformed"}
    stamps = [r["at"] for r in rows]
    assert stamps == sorted(set(stamps))  # each once, oldest first


async def test_the_filters_select_the_rows(client: Client, runtime: Runtime) -> None:
    await store(
        runtime,
        event(0, pass_id="pas_a"),
        event(10, gate="side-door", reason="expired"),
        event(20, reason="malformed"),
        event(30, gate="side-door", pass_id="pas_b"),
    )
    since, until = (T0 + timedelta(minutes=10)).isoformat(), (T0 + timedelta(minutes=30))

    assert [r["reason"] for r in await export(client, result="deny")] == ["expired", "malformed"]
    assert [r["reason"] for r in await export(client, reason="expired")] == ["expired"]
    assert len(await export(client, gate="side-door")) == 2
    assert [r["pass_id"] for r in await export(client, pass_id="pas_b")] == ["pas_b"]
    window = await export(client, since=since, until=until.isoformat())
    assert [r["reason"] for r in window] == ["expired", "malformed"]  # until is exclusive
    assert window[0]["at"] == "2027-01-14T08:10:00Z"
    assert await export(client, since="2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"result": "maybe"}, "result"),
        ({"reason": "sleepy"}, "reason"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2027-13-45"}, "until"),
        ({"since": "2027-01-02T00:00:00Z", "until": "2027-01-01T00:00:00Z"}, "until"),
    ],
)
async def test_a_bad_filter_is_400_with_a_detail(
    client: Client, params: dict[str, str], says: str
) -> None:
    response = await client.get("/audit/export.csv", params=params, headers=admin_headers())

    assert response.status_code == 400
    assert says in str(response.json())


async def test_the_export_needs_the_admin_token(client: Client, gate_secret: str) -> None:
    missing = await client.get("/audit/export.csv")
    wrong = await client.get(
        "/audit/export.csv", headers={"Authorization": f"Bearer {gate_secret}"}
    )

    assert missing.status_code == 401
    assert wrong.status_code in (401, 403)
    assert "detail" in wrong.json()


async def test_cells_a_spreadsheet_would_run_are_neutralised(
    client: Client, runtime: Runtime
) -> None:
    await store(
        runtime,
        event(0, gate='=HYPERLINK("http://evil")', pass_id="+1+1", user_id="-2+3"),
        event(1, gate="@SUM(A1)", reason="malformed"),
        event(2, gate="plain-gate"),
    )

    rows = await export(client)

    assert rows[0]["gate"] == '\'=HYPERLINK("http://evil")'
    assert (rows[0]["pass_id"], rows[0]["user_id"]) == ("'+1+1", "'-2+3")
    assert rows[1]["gate"] == "'@SUM(A1)"
    assert rows[2]["gate"] == "plain-gate"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
