"""The scanner page (`/scan`) in real Chromium: a fake camera showing our own QR, a keyboard
wedge, and a server that goes away."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, Playwright, expect
from testkit.live_server import LiveServer

from tests.e2e.conftest import (
    DESKTOP,
    add_gate,
    audit,
    camera_scanner,
    csp_violations,
    new_pass,
    qr_png,
    remember,
    serious_accessibility_violations,
)

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]


def set_up_gate(page: Page, secret: str, name: str = "front-door") -> None:
    """What the scanner keeps after its setup form, put there directly."""
    page.goto("/scan")
    remember(page, "gymgate.scanner", json.dumps({"name": name, "secret": secret}))
    page.reload()
    expect(page.locator("#scanner")).to_be_visible()


def decision(page: Page, result: str, text: str) -> None:
    """The newest decision is `result` and reads `text` (the history keeps it after 2 s)."""
    newest = page.locator("#history li").first
    expect(newest).to_have_attribute("data-result", result)
    expect(newest).to_contain_text(text)


def decoded_frames(page: Page) -> int:
    count: str | None = page.evaluate("() => document.body.dataset.decodedFrames || '0'")
    return int(count or 0)


def test_a_pass_held_to_the_camera_is_admitted_once_then_already_used(
    playwright: Playwright, web_server: LiveServer, tmp_path: Path, screenshot: Screenshot
) -> None:
    secret = add_gate(web_server, "front-door")
    issued = new_pass(web_server)
    picture = qr_png(web_server, issued["payment_id"])
    with camera_scanner(playwright, web_server, picture, tmp_path, secret) as page:
        context = page.context
        expect(page.locator("#decision")).to_have_attribute("data-result", "allow")
        expect(page.locator("#verdict")).to_have_text("ALLOW")
        screenshot(page, "scan-allow-desktop")
        decision(page, "allow", "Member")

        # The camera keeps seeing the same code; it stays one attempt.
        seen = decoded_frames(page)
        page.wait_for_function(f"() => Number(document.body.dataset.decodedFrames) >= {seen + 15}")
        rows = audit(web_server)
        assert [(row["result"], row["pass_id"]) for row in rows] == [("allow", issued["pass_id"])]
        expect(page.locator("#history li")).to_have_count(1)
        expect(page.locator("#decision")).to_be_hidden()
        expect(page.locator("#camera-status")).to_have_text("Camera on: hold a pass up to it.")
        assert serious_accessibility_violations(page) == []
        screenshot(page, "scan-camera-desktop")
        page.close()

        again = context.new_page()
        again.goto("/scan")
        expect(again.locator("#decision")).to_have_attribute("data-result", "deny")
        expect(again.locator("#decision-detail")).to_contain_text("Already used at")
        expect(again.locator("#decision-detail")).to_contain_text("front-door")
        screenshot(again, "scan-already-used-desktop")
        decision(again, "deny", "Already used at")
        assert [row["reason"] for row in audit(web_server)] == ["already_used", None]
        assert csp_violations(context) == []  # camera, worker and jsQR within the policy


def test_keyboard_wedge_codes_are_checked_and_junk_is_not_a_pass(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    secret = add_gate(web_server, "front-door")
    token = new_pass(web_server)["token"]
    page.goto("/scan")
    expect(page.locator("#setup")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "scan-setup-phone")
    page.click("#gate-name")  # the enrollment code has the focus; this is the secret form
    page.keyboard.type("front-door")
    page.keyboard.press("Tab")
    page.keyboard.type(secret)
    page.keyboard.press("Enter")
    expect(page.locator("#gate-label")).to_have_text("Gate: front-door")
    expect(page.locator("#camera-status")).to_contain_text("USB scanner")

    page.keyboard.type(token)
    page.keyboard.press("Enter")
    decision(page, "allow", "Member")

    page.keyboard.type("junk")
    page.keyboard.press("Enter")
    expect(page.locator("#decision")).to_have_attribute("data-result", "deny")
    expect(page.locator("#verdict")).to_have_text("DENY")
    expect(page.locator("#decision-detail")).to_have_text(
        "Not a gymgate pass — scan again or send to the desk"
    )
    screenshot(page, "scan-deny-phone")

    page.keyboard.type(token)
    page.keyboard.press("Enter")
    decision(page, "deny", "Already used at")
    expect(page.locator("#history li")).to_have_count(3)
    expect(page.locator("#decision")).to_be_hidden()  # the decision clears itself
    assert serious_accessibility_violations(page) == []
    screenshot(page, "scan-history-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "scan-history-desktop")

    for n in range(8):
        page.keyboard.type(f"junk-{n}")
        page.keyboard.press("Enter")
    # 11 decisions in all: the first (the allow) has dropped out of the last 10
    expect(page.locator("#history li").last).to_contain_text("Not a gymgate pass")
    expect(page.locator("#history li")).to_have_count(10)
    page.reload()
    expect(page.locator("#history li")).to_have_count(10)  # kept on the device


def test_without_the_server_or_synced_data_the_scanner_says_not_checked_and_never_green(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    """A scanner that never synced cannot decide offline: amber "not checked", not a guess.
    (Since offline mode, a scanner with fresh data decides instead: test_web_scanner_offline.)"""
    secret = add_gate(web_server, "front-door")
    token = new_pass(web_server)["token"]
    page.context.route("**/gate/state*", lambda route: route.abort("connectionrefused"))
    set_up_gate(page, secret)
    page.evaluate(
        """() => {
            window.results = [];
            const panel = document.getElementById("decision");
            new MutationObserver(() => window.results.push(panel.dataset.result))
                .observe(panel, { attributes: true, attributeFilter: ["data-result"] });
        }"""
    )
    web_server.stop()

    page.keyboard.type(token)
    page.keyboard.press("Enter")
    expect(page.locator("#decision")).to_have_attribute("data-result", "unavailable")
    expect(page.locator("#verdict")).to_have_text("NOT CHECKED")
    expect(page.locator("#decision-detail")).to_contain_text("never synced")
    expect(page.locator("#connection")).to_contain_text("OFFLINE")
    screenshot(page, "scan-offline-phone")
    background = page.evaluate(
        "() => getComputedStyle(document.getElementById('decision')).backgroundColor"
    )
    assert background == "rgb(240, 180, 0)", "the not-checked screen is amber, not green"
    decision(page, "unavailable", "Not checked: cannot decide offline")
    assert page.evaluate("() => window.results") == ["unavailable"]


def test_a_wrong_gate_secret_asks_for_the_setup_again(page: Page, web_server: LiveServer) -> None:
    """Since the scanner syncs on load, a refused secret is found before the first scan; a
    code the wedge then types lands in the set-up and is never kept as a secret."""
    page.goto("/scan")
    remember(
        page, "gymgate.scanner", json.dumps({"name": "front-door", "secret": "not-the-secret"})
    )
    page.reload()
    expect(page.locator("#setup-message")).to_have_text(
        "The server did not accept this gate's secret. Enter it again, or enrol with a new code."
    )
    expect(page.locator("#gate-name")).to_have_value("front-door")
    page.keyboard.type("some-code")
    page.keyboard.press("Enter")
    expect(page.locator("#setup-message")).to_contain_text("not an enrollment code")
    assert page.evaluate("() => localStorage.getItem('gymgate.scanner')") is None
    assert audit(web_server) == []
