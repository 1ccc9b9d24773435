"""Passes bound to the member's phone, in real Chromium (`GYMGATE_PASS_BINDING=device`): the
page makes a non-extractable key, the pass is issued to its public half, and the QR is a
live code (token~time~signature) redrawn every 10 s. The gate admits the live code; a
screenshot of it replayed 40 s later is `expired`; the token without its proof is
`invalid_claims`; opening the emailed link on a second phone moves the pass there, and the
first phone's codes are then `revoked` — online at once, and at an offline scanner page
after its next sync. Without Ed25519 the page falls back to ECDSA P-256."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect
from testkit.databases import SqliteTemplate
from testkit.faketime import faketime_env
from testkit.live_server import LiveServer
from testkit.qr_reader import qr_text
from testkit.smtp import SmtpInbox, links_in

from tests.e2e.conftest import (
    DESKTOP,
    add_gate,
    audit,
    csp_violations,
    mailing_server_on_sqlite,
    new_context,
    serious_accessibility_violations,
    verify,
)
from tests.e2e.test_web_member import pay_on_the_page
from tests.e2e.test_web_scanner_offline import (
    cut_network,
    newest,
    restore_network,
    scan,
    set_up_gate,
    shown,
)

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]

# A browser without Ed25519 in WebCrypto (Chrome before 137, Safari before 17): generateKey
# refuses it the way such a browser does.
NO_ED25519 = """(() => {
  const generateKey = SubtleCrypto.prototype.generateKey;
  SubtleCrypto.prototype.generateKey = function (algorithm, ...rest) {
    const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (String(name).toLowerCase() === "ed25519") {
      return Promise.reject(new DOMException("Ed25519 is not supported", "NotSupportedError"));
    }
    return generateKey.call(this, algorithm, ...rest);
  };
})();"""

# The key pair as the page keeps it in IndexedDB, and what WebCrypto lets a script do with it.
DEVICE_KEY = """async () => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("gymgate-device");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const pair = await new Promise((resolve, reject) => {
    const request = db.transaction("keys").objectStore("keys").get("device");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const refusal = async (format) => {
    try {
      await crypto.subtle.exportKey(format, pair.privateKey);
      return "exported";
    } catch (error) {
      return error.name;
    }
  };
  return {
    algorithm: pair.privateKey.algorithm.name,
    extractable: pair.privateKey.extractable,
    exportJwk: await refusal("jwk"),
    exportPkcs8: await refusal("pkcs8"),
    publicJwk: await crypto.subtle.exportKey("jwk", pair.publicKey),
  };
}"""

# The old phone still holds its key: it can go on signing proofs for the pass it had.
OLD_PHONE_CODE = """async () => {
  const { deviceKey, proofText } = await import("/binding.js");
  const pass = JSON.parse(localStorage["gymgate.pass"]);
  return proofText(await deviceKey(), pass.token, pass.offsetMs);
}"""


@pytest.fixture
def bound_server(
    tmp_path: Path, sqlite_template: SqliteTemplate, inbox: SmtpInbox
) -> Iterator[LiveServer]:
    """A live server that binds passes to phones and mails each member their pass link."""
    with mailing_server_on_sqlite(
        tmp_path, sqlite_template, inbox, GYMGATE_PASS_BINDING="device"
    ) as server:
        yield server


@contextmanager
def later(server: LiveServer, seconds: int) -> Iterator[LiveServer]:
    """The same server (database, keys, gates) with its clock `seconds` ahead: the gate as
    it will be then (libfaketime, as tests/e2e/test_clocks.py uses it)."""
    with LiveServer(server.workdir, {**server.env, **faketime_env(seconds)}) as shifted:
        yield shifted


def live_code(page: Page) -> str:
    """The code on the pass, decoded from a screenshot of it as a gate camera would."""
    image = page.locator("#pass-qr")
    expect(image).to_have_attribute("data-qr-version", re.compile(r"^\d+$"))
    return qr_text(image.screenshot())


def code_after(page: Page, milliseconds: int) -> str:
    """Move the page's clock on and decode the code it draws then."""
    drawn = page.locator("#pass-qr").get_attribute("src")
    page.clock.fast_forward(milliseconds)
    page.wait_for_function(NEW_CODE, arg=drawn)
    return live_code(page)


NEW_CODE = """(old) => {
  const image = document.getElementById("pass-qr");
  return image.src !== old && image.complete;
}"""


def claims_of(code: str) -> dict[str, Any]:
    payload = code.split("~")[0].split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def denied(server: LiveServer, secret: str, code: str) -> str:
    answer = verify(server, secret, code)
    assert answer["status"] == "deny", answer
    reason: str = answer["reason"]
    return reason


def test_the_live_code_is_admitted_and_its_screenshot_40_s_later_is_expired(
    browser: Browser, bound_server: LiveServer, screenshot: Screenshot
) -> None:
    secret = add_gate(bound_server, "front-door")
    context = new_context(browser, bound_server)
    page = context.new_page()
    page.clock.install()  # the page's clock runs on, and can be moved on with the gate's
    page.emulate_media(color_scheme="dark")
    pay_on_the_page(page)

    shot = live_code(page)  # the friend's screenshot, taken now
    token, ts, _signature = shot.split("~")
    assert abs(int(ts) - time.time()) < 10, "the proof is stamped with the server's time"
    key = page.evaluate(DEVICE_KEY)
    assert claims_of(shot)["cnf"] == {"jwk": {m: key["publicJwk"][m] for m in ("crv", "kty", "x")}}
    version = int(page.locator("#pass-qr").get_attribute("data-qr-version") or 0)
    assert version <= 17, f"a bound pass's QR is version {version} at ECC M"
    expect(page.locator("#pass-live")).to_contain_text("only on this phone")
    corner = Image.open(io.BytesIO(page.locator("#pass-qr").screenshot())).convert("RGB")
    assert corner.getpixel((2, 2)) == (255, 255, 255), "black on white, even in dark mode"
    screenshot(page, "member-bound-pass-dark-phone")
    assert serious_accessibility_violations(page) == []

    assert denied(bound_server, secret, token) == "invalid_claims", "the proof stripped"

    with later(bound_server, 40) as gate_then:
        assert denied(gate_then, secret, shot) == "expired"
        fresh = code_after(page, 40_000)  # the member's phone 40 s on: a new code by now
        assert int(fresh.split("~")[1]) >= int(ts) + 40
        answer = verify(gate_then, secret, fresh)
    assert answer["status"] == "allow", answer
    expect(page.locator("#pass-state")).to_contain_text("Used at")
    expect(page.locator("#pass-qr")).to_be_hidden()  # a spent bound pass shows no code
    assert csp_violations(context) == [], "drawn in the page within its Content-Security-Policy"
    context.close()


def test_a_pass_opened_on_a_second_phone_moves_there_and_leaves_the_first(
    browser: Browser, bound_server: LiveServer, inbox: SmtpInbox, screenshot: Screenshot
) -> None:
    secret = add_gate(bound_server, "front-door")
    gate_context = new_context(browser, bound_server, DESKTOP)
    gate = gate_context.new_page()
    set_up_gate(gate, secret)  # synced before the pass moves
    first_phone = new_context(browser, bound_server)
    first = first_phone.new_page()
    pay_on_the_page(first)
    before = live_code(first)
    [message] = inbox.wait_for(1)
    [link] = links_in(message)

    second_phone = new_context(browser, bound_server)
    second = second_phone.new_page()
    second.goto(link)
    expect(second.locator("#pass-state")).to_have_text("Ready: show this code at the turnstile")
    moved_code = live_code(second)
    assert claims_of(moved_code)["jti"] == claims_of(before)["jti"], "the same pass"
    assert claims_of(moved_code)["cnf"] != claims_of(before)["cnf"], "bound to the new phone"

    # Online, at once: the first phone's codes are refused, and it says where the pass went.
    assert denied(bound_server, secret, first.evaluate(OLD_PHONE_CODE)) == "revoked"
    expect(first.locator("#pass-state")).to_have_text("This pass moved to another phone")
    expect(first.locator("#qr-veil")).to_have_text("Moved to another phone")
    expect(first.locator("#pass-qr")).to_be_hidden()
    screenshot(first, "member-pass-moved-phone")
    assert serious_accessibility_violations(first) == []

    # Offline, after the scanner's next sync: the move travelled like a revocation.
    gate.evaluate("() => window.dispatchEvent(new Event('online'))")
    gate.wait_for_function(REBOUND_KNOWN, arg=["front-door", claims_of(before)["jti"]])
    cut_network(gate_context)
    scan(gate, first.evaluate(OLD_PHONE_CODE))
    shown(gate, "deny", "offline")
    newest(gate, "deny", "moved to another phone")
    restore_network(gate_context)
    gate.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(gate.locator("#connection")).not_to_contain_text("to upload")
    offline_rows = [row for row in audit(bound_server) if row["mode"] == "offline"]
    assert [(row["result"], row["reason"], row["pass_id"]) for row in offline_rows] == [
        ("deny", "revoked", claims_of(before)["jti"])
    ]

    assert verify(bound_server, secret, live_code(second))["status"] == "allow"
    expect(second.locator("#pass-state")).to_contain_text("Used at")
    for context in (gate_context, first_phone, second_phone):
        context.close()


# Whether the scanner page's IndexedDB holds the pass as re-bound. wait_for_function does not
# await a promise, so each poll starts one read and answers with the last one's result.
REBOUND_KNOWN = """([gate, passId]) => {
  const seen = (window.reboundSeen ??= { known: false, reading: false });
  if (!seen.reading) {
    seen.reading = true;
    const request = indexedDB.open(`gymgate-gate:${gate}`);
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("rebound")) return (seen.reading = false), db.close();
      const row = db.transaction("rebound").objectStore("rebound").get(passId);
      row.onsuccess = () => {
        seen.known = Boolean(row.result);
        seen.reading = false;
        db.close();
      };
    };
  }
  return seen.known;
}"""


def test_without_ed25519_the_page_signs_with_p256_and_is_admitted(
    browser: Browser, bound_server: LiveServer
) -> None:
    context: BrowserContext = new_context(browser, bound_server)
    context.add_init_script(NO_ED25519)
    page = context.new_page()
    pay_on_the_page(page)

    code = live_code(page)
    assert claims_of(code)["cnf"]["jwk"]["kty"] == "EC"
    assert claims_of(code)["cnf"]["jwk"]["crv"] == "P-256"
    assert page.evaluate(DEVICE_KEY)["algorithm"] == "ECDSA"
    version = page.locator("#pass-qr").get_attribute("data-qr-version")
    print(f"P-256 bound pass: QR version {version} at ECC M, {len(code)} characters")
    answer = verify(bound_server, add_gate(bound_server, "front-door"), code)
    assert answer["status"] == "allow", answer
    context.close()


def test_the_device_key_cannot_be_read_out_of_the_page(
    browser: Browser, bound_server: LiveServer
) -> None:
    context = new_context(browser, bound_server)
    page = context.new_page()
    pay_on_the_page(page)
    live_code(page)

    key = page.evaluate(DEVICE_KEY)

    assert key["algorithm"] == "Ed25519"
    assert key["extractable"] is False
    assert key["exportJwk"] == "InvalidAccessError"
    assert key["exportPkcs8"] == "InvalidAccessError"
    context.close()


def test_offline_the_page_still_draws_new_codes_the_gate_admits(
    browser: Browser, bound_server: LiveServer
) -> None:
    secret = add_gate(bound_server, "front-door")
    context = new_context(browser, bound_server)
    page = context.new_page()
    page.clock.install()
    pay_on_the_page(page)
    first = live_code(page)
    assert page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")

    bound_server.stop()
    page.reload()  # no server: the service worker's copy of the page, key and pass stored
    expect(page.locator("#pass-state")).to_contain_text("Ready")
    offline = code_after(page, 10_000)
    assert int(offline.split("~")[1]) >= int(first.split("~")[1]) + 10

    with LiveServer(bound_server.workdir, bound_server.env) as server_back:
        answer = verify(server_back, secret, offline)
    assert answer["status"] == "allow", answer
    context.close()


def test_a_phone_whose_clock_is_five_minutes_slow_still_shows_codes_the_gate_admits(
    browser: Browser, bound_server: LiveServer
) -> None:
    context = new_context(browser, bound_server)
    page = context.new_page()
    page.clock.install(time=datetime.now(UTC) - timedelta(minutes=5))
    pay_on_the_page(page)

    code = live_code(page)

    assert abs(int(code.split("~")[1]) - time.time()) < 10, "stamped with the server's time"
    answer = verify(bound_server, add_gate(bound_server, "front-door"), code)
    assert answer["status"] == "allow", answer
    context.close()
