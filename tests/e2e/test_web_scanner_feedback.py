"""The scanner page tells staff more than ALLOW/DENY: the member's first name and pass, what
to do about each deny, a tone and buzz per decision, a screen that stays awake."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from testkit.live_server import LiveServer

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import add_gate, new_pass, serious_accessibility_violations
from tests.e2e.test_web_scanner import set_up_gate

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]

# Records what the page asks of the device instead of making a sound, a buzz or a lock.
DEVICE_SPY = """
window.spy = { tones: [], buzzes: [], wakeLocks: [], lock: null };
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  const node = createOscillator.call(this);
  const start = node.start.bind(node);
  node.start = (...args) => { window.spy.tones.push(node.frequency.value); return start(...args); };
  return node;
};
Object.defineProperty(navigator, "vibrate", {
  configurable: true,
  value: (pattern) => { window.spy.buzzes.push(pattern); return true; },
});
Object.defineProperty(navigator, "wakeLock", {
  configurable: true,
  value: {
    request: async (type) => {
      window.spy.wakeLocks.push(type);
      window.spy.lock = { released: false, release: async () => {}, addEventListener() {} };
      return window.spy.lock;
    },
  },
});
"""


def until(expires_at: str) -> str:
    """How the page (en-GB, UTC) writes a pass's end: "18:04" today, "2 Dec, 18:04" later."""
    end = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    if end.date() == datetime.now(UTC).date():
        return f"{end:%H:%M}"
    return f"{end.day} {end:%b}, {end:%H:%M}"


def spied(page: Page, what: str) -> Any:
    return page.evaluate(f"() => window.spy.{what}")


def scan(page: Page, token: str) -> None:
    page.keyboard.type(token)
    page.keyboard.press("Enter")


def tones_of(page: Page, token: str) -> list[float]:
    """The oscillator frequencies one scan started."""
    page.evaluate("() => { window.spy.tones = []; }")
    before = page.locator("#history li").count()
    scan(page, token)
    expect(page.locator("#history li")).to_have_count(min(before + 1, 10))
    page.wait_for_function("() => window.spy.tones.length > 0")
    tones: list[float] = spied(page, "tones")
    return tones


@pytest.fixture
def spied_page(context: BrowserContext) -> Page:
    context.add_init_script(DEVICE_SPY)
    return context.new_page()


def test_allow_names_the_member_and_each_deny_says_what_to_do(
    spied_page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    page = spied_page
    secret = add_gate(web_server, "front-door")
    ana = new_pass(web_server, "ana.silva@example.com", name="Ana Silva")
    refunded = new_pass(web_server, "bo@example.com")
    response = httpx.post(
        f"{web_server.url}/payments/{refunded['payment_id']}/refund",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    set_up_gate(page, secret)

    allow_tones = tones_of(page, ana["token"])
    expect(page.locator("#verdict")).to_have_text("ALLOW")
    detail = page.locator("#decision-detail")
    expect(detail).to_have_text(f"Ana · one entry, valid until {until(ana['expires_at'])}")
    expect(detail).not_to_contain_text("ana.silva")  # never the email
    assert serious_accessibility_violations(page) == []
    screenshot(page, "scan-allow-named-phone")

    deny_tones = tones_of(page, ana["token"])
    expect(page.locator("#verdict")).to_have_text("DENY")
    expect(detail).to_have_text(
        "Already used at {} at front-door — send to the desk".format(
            page.locator("#history li").nth(1).locator("time").inner_text()[:5]
        )
    )
    assert serious_accessibility_violations(page) == []
    screenshot(page, "scan-deny-guidance-phone")

    assert tones_of(page, refunded["token"]) == deny_tones
    expect(detail).to_have_text("Refunded or moved to another phone — send to the desk")
    tones_of(page, "junk")
    expect(detail).to_have_text("Not a gymgate pass — scan again or send to the desk")

    # The tones: one short high beep for an allow, two lower ones for a deny.
    assert len(allow_tones) == 1
    assert len(deny_tones) == 2
    assert min(allow_tones) > max(deny_tones)
    buzzes = spied(page, "buzzes")
    assert len(buzzes) == 4
    assert buzzes[0] != buzzes[1]  # a deny buzzes differently


CANNED_DENIES = {
    "expired": "Expired — the member needs a new pass",
    "not_yet_valid": "Phone clock or pass not valid yet — check the time",
    "unknown_key": "Not a gymgate pass — scan again or send to the desk",
    "bad_signature": "Not a gymgate pass — scan again or send to the desk",
    "invalid_claims": "Not a gymgate pass — scan again or send to the desk",
    "revoked": "Refunded or moved to another phone — send to the desk",
}


def test_every_deny_reason_has_its_sentence_and_not_checked_its_own_tone(
    spied_page: Page, web_server: LiveServer
) -> None:
    """Reasons a live server cannot be made to give on cue (a clock off by hours): the
    server's answer is canned; the page's words are what is under test."""
    page = spied_page
    secret = add_gate(web_server, "front-door")
    set_up_gate(page, secret)
    reason = {"now": ""}

    def answer(route: Route) -> None:
        body: dict[str, str] = {"status": "deny", "reason": reason["now"]}
        if reason["now"] == "allow":
            body = {"status": "allow", "pass_id": "p1", "user_id": "u1"}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/verify", answer)
    for code, sentence in CANNED_DENIES.items():
        reason["now"] = code
        tones = tones_of(page, f"token-{code}")
        expect(page.locator("#decision-detail")).to_have_text(sentence)
        assert len(tones) == 2, code
    assert serious_accessibility_violations(page) == []
    reason["now"] = "allow"
    allow_tones = tones_of(page, "token-allow")
    expect(page.locator("#decision-detail")).to_have_text("Member · one entry")  # no name

    page.unroute("**/verify")
    page.route("**/verify", lambda route: route.fulfill(status=429, json={"detail": "slow down"}))
    busy_tones = tones_of(page, "token-busy")
    expect(page.locator("#verdict")).to_have_text("NOT CHECKED")
    assert len(busy_tones) == 1  # one neutral tone: neither the allow's nor the deny's
    assert busy_tones[0] not in {*tones, *allow_tones}
    assert serious_accessibility_violations(page) == []


def test_the_screen_is_kept_awake_and_full_screen_toggles(
    spied_page: Page, web_server: LiveServer
) -> None:
    page = spied_page
    secret = add_gate(web_server, "front-door")
    set_up_gate(page, secret)
    page.wait_for_function("() => window.spy.wakeLocks.length === 1")
    assert spied(page, "wakeLocks") == ["screen"]

    # The system drops the lock when the tablet is hidden; back in view, the page asks again.
    page.evaluate(
        "() => { window.spy.lock.released = true;"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    page.wait_for_function("() => window.spy.wakeLocks.length === 2")

    button = page.get_by_role("button", name="Full screen")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(page.get_by_role("button", name="Exit full screen")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.evaluate("() => document.fullscreenElement === document.documentElement")
    page.get_by_role("button", name="Exit full screen").click()
    expect(page.get_by_role("button", name="Full screen")).to_be_visible()
