"""The scanner page's offline verifier (web/scan/verify.js) in real Chromium against the
server's hostile-token table: every attack gets the same deny reason in the page as from
POST /verify on a live server holding the same keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from testkit.databases import SqliteTemplate
from testkit.live_server import LiveServer

from gymgate.clock import SystemClock
from gymgate.keystore import KeyStore
from tests.e2e.conftest import add_gate, live_server_on_sqlite, new_context
from tests.test_hostile_tokens import Forge, forge_for, hostile_fixture

pytestmark = pytest.mark.e2e

# What the page runs: import the verifier, import the server's keys, check every token (as
# a scanned code: proof.js's checkScan, which hands a code without a proof to verify.js).
RUN_VERIFIER = """async ([rows, jwks, rules]) => {
    const verifier = await import("/scan/verify.js");
    const { checkScan } = await import("/scan/proof.js");
    const keys = await verifier.importKeys(jwks);
    const now = Date.now() / 1000;
    const answers = {};
    for (const row of rows) {
        const checked = await checkScan(row.token, { keys, ...rules }, now);
        answers[row.name] = checked.ok ? "allow" : checked.reason;
    }
    return answers;
}"""


@pytest.fixture
def forged(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[tuple[LiveServer, Forge]]:
    """A live server on a key set the forge also holds (one key retired, one active)."""
    keys = tmp_path / "keys"
    KeyStore(keys).rotate(SystemClock())
    forge = forge_for(keys)
    with live_server_on_sqlite(tmp_path, sqlite_template) as server:
        yield server, forge


def gate_rules(server: LiveServer, secret: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys and token rules a scanner gets from GET /gate/state, as the page keeps them."""
    response = httpx.get(server.url + "/gate/state", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    state = response.json()
    rules = {
        "issuer": state["issuer"],
        "leeway": state["leeway_seconds"],
        "maxLifetime": state["max_token_lifetime_seconds"],
    }
    return state["jwks"], rules


def server_reasons(server: LiveServer, secret: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for row in rows:
            response = client.post(
                "/verify",
                json={"token": row["token"], "gate": "hostile"},
                headers={"Authorization": f"Bearer {secret}"},
            )
            body = response.json()
            answers[row["name"]] = (
                body.get("reason") if response.status_code == 200 else (response.status_code)
            )
    return answers


def test_the_page_verifier_gives_every_hostile_token_the_servers_reason(
    browser: Browser, forged: tuple[LiveServer, Forge], tmp_path: Path
) -> None:
    server, forge = forged
    rows = hostile_fixture(forge)
    fixture = tmp_path / "hostile-tokens.json"
    fixture.write_text(json.dumps(rows))  # the exported fixture, kept with the test's files
    secret = add_gate(server, "hostile")
    jwks, rules = gate_rules(server, secret)
    context = new_context(browser, server)
    page = context.new_page()
    page.goto("/scan")

    in_page: dict[str, str] = page.evaluate(
        RUN_VERIFIER, [json.loads(fixture.read_text()), jwks, rules]
    )
    from_server = server_reasons(server, secret, rows)
    context.close()

    expected = {row["name"]: row["reason"] for row in rows}
    assert in_page == expected
    # The server refuses the 1 MB body before reading it (413); every other row is its reason.
    too_big = {name for name, answer in from_server.items() if answer == 413}
    assert too_big == {"1 MB token"}
    assert {name: in_page[name] for name in from_server if name not in too_big} == {
        name: answer for name, answer in from_server.items() if name not in too_big
    }


def test_the_page_verifier_allows_a_pass_the_server_allows(
    browser: Browser, forged: tuple[LiveServer, Forge]
) -> None:
    """The control: the same verifier admits an untouched token (the table is not all-deny
    because the page denies everything)."""
    server, forge = forged
    jwks, rules = gate_rules(server, add_gate(server, "hostile"))
    context = new_context(browser, server)
    page = context.new_page()
    page.goto("/scan")

    answers = page.evaluate(
        RUN_VERIFIER, [[{"name": "valid", "token": forge.valid()}], jwks, rules]
    )
    context.close()

    assert answers == {"valid": "allow"}
