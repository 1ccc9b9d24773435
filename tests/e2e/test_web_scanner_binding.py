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


# The member page's drawing of a code, handed to the scanner page's camera decoder (jsQR in
# its worker) as a camera frame: what the turnstile reads off the phone.
DECODE_DRAWN = """async (text) => {
  const { qrImage } = await import("/qrdraw.js");
  const drawn = qrImage(text);
  const image = new Image();
  image.src = drawn.url;
  await image.decode();
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [image.width, image.height];
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const frame = context.getImageData(0, 0, canvas.width, canvas.height);
  const worker = new Worker("/scan/decoder.js");
  const read = new Promise((resolve) => (worker.onmessage = (event) => resolve(event.data)));
  worker.postMessage({ pixels: frame.data.buffer, width: frame.width, height: frame.height });
  const decoded = await read;
  worker.terminate();
  return { decoded, version: drawn.version };
}"""


def test_the_scanner_camera_decoder_reads_the_member_pages_drawing_of_a_code(
    page: Page,
) -> None:
    """Every fresh code in the list (Ed25519, P-256, a plain pass) survives the drawing's
    mixed numeric / alphanumeric / byte segments and jsQR's reading."""
    page.goto("/scan")
    for row in cases()["cases"]:
        if row["status"] != "allow":
            continue
        result = page.evaluate(DECODE_DRAWN, row["scanned"])
        assert result["decoded"] == row["scanned"], row["name"]
        if row["name"] == "ed25519_fresh_proof":
            assert result["version"] <= 17
