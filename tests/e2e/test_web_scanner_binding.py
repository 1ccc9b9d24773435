"""The scanner page's offline verifier (web/scan/proof.js over verify.js, and gatestate.js's
re-bound check) in real Chromium against the server's list of bound-pass codes,
tests/binding_cases.json: the same list gymgate.binding is tested with, so every hostile
proof (wrong key, future time, swapped pass id, another pass's proof, a stale screenshot, a
pass moved to another phone …) gets the server's exact decision in the page too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

# Written by tests/binding_cases.py (`python -m tests.binding_cases`), fixed keys and clock.
CASES_FILE = Path(__file__).resolve().parents[1] / "binding_cases.json"

# What the page runs offline, case by case: the verifier with the gate's rules, then the
# decision a fresh gate store records with the case's re-bound list as its last sync.
RUN_CASES = """async (file) => {
  const { checkScan } = await import("/scan/proof.js");
  const { importKeys } = await import("/scan/verify.js");
  const { GateState } = await import("/scan/gatestate.js");
  const rules = {
    keys: await importKeys(file.jwks),
    issuer: file.issuer,
    leeway: file.leeway_seconds,
    maxLifetime: file.pass_ttl_seconds + file.leeway_seconds,
    proofWindow: file.window,
  };
  const at = new Date(file.now * 1000).toISOString();
  const answers = {};
  for (const [index, row] of file.cases.entries()) {
    const checked = await checkScan(row.scanned, rules, file.now);
    const gate = await GateState.open(`binding-case-${index}`);
    const state = { gate: "cases", jwks: file.jwks, revoked: [], used: [], rebound: row.rebound };
    await gate.saveSync(state, file.now * 1000, 0);
    const scan = { id: `case${index}xx`, token: row.scanned, at, gate: "cases" };
    const decision = await gate.record(scan, checked);
    gate.close();
    answers[row.name] = [decision.result, decision.reason];
  }
  return answers;
}"""


def cases() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CASES_FILE.read_text())
    return loaded


def test_the_page_decides_every_bound_code_as_the_server_does(page: Page) -> None:
    table = cases()
    page.goto("/scan")

    answers: dict[str, list[str | None]] = page.evaluate(RUN_CASES, table)

    expected = {
        row["name"]: ["allow" if row["status"] == "allow" else "deny", row["reason"]]
        for row in table["cases"]
    }
    assert answers == expected
    assert {"wrong_key", "future_proof", "swapped_pass_id", "proof_of_another_pass"} <= set(
        expected
    ), "the hostile proofs the issue names are in the list"
