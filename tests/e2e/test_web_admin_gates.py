"""The operator page's Gates panel in real Chromium, with real scanner pages: add a gate and
enrol its scanner with the one-time code, rotate and revoke, see pending uploads, and see the
double entry two offline gates let through side by side once they sync."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, expect
from testkit.live_server import LiveServer

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import (
    DESKTOP,
    audit,
    new_context,
    new_pass,
    remember,
    serious_accessibility_violations,
)

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]


def sign_in(page: Page) -> None:
    page.goto("/admin")
    remember(page, "gymgate.adminToken", json.dumps(ADMIN_TOKEN))
    page.reload()
    expect(page.locator("#dashboard")).to_be_visible()


def gate_row(page: Page, name: str) -> Locator:
    return page.locator(f"#gate-rows tr[data-gate='{name}']")


def add_gate_on_page(page: Page, name: str) -> str:
    """Add a gate with the panel; the enrollment code it shows once."""
    page.fill("#new-gate", name)
    page.click("#gate-add button[type=submit]")
    expect(page.locator("#enrollment")).to_be_visible()
    # The panel may still show the previous gate's code until this one's answer arrives.
    expect(page.locator("#enrollment-code")).to_contain_text(f"gymgate-gate:1:{name}:")
    code = page.locator("#enrollment-code").inner_text()
    assert code.startswith(f"gymgate-gate:1:{name}:")
    return code


def enrol(page: Page, code: str) -> None:
    page.goto("/scan")
    page.fill("#enroll-code", code)
    page.keyboard.press("Enter")


def scanner_ready(page: Page, name: str) -> None:
    expect(page.locator("#gate-label")).to_have_text(f"Gate: {name}")
    expect(page.locator("#connection")).to_have_attribute("data-fresh", "yes")


def scan(page: Page, token: str) -> None:
    page.keyboard.type(token)
    page.keyboard.press("Enter")


def test_a_gate_added_on_the_page_is_enrolled_once_rotated_and_revoked(
    browser: Browser, page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    sign_in(page)
    expect(page.locator("#gates-empty")).to_be_visible()
    code = add_gate_on_page(page, "front-door")
    expect(gate_row(page, "front-door")).to_have_attribute("data-state", "never")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "admin-gate-added-phone")

    scanner_context = new_context(browser, web_server)
    scanner = scanner_context.new_page()
    scanner.goto("/scan")
    scan(scanner, new_pass(web_server)["token"])  # a wedge scanning a pass into the set-up
    expect(scanner.locator("#setup-message")).to_contain_text("member's pass")
    assert scanner.evaluate("() => localStorage.getItem('gymgate.scanner')") is None
    enrol(scanner, code)
    scanner_ready(scanner, "front-door")
    expect(scanner.locator("#connection")).to_contain_text("ONLINE")
    kept = json.loads(scanner.evaluate("() => localStorage.getItem('gymgate.scanner')"))
    assert kept["name"] == "front-door"
    assert kept["secret"] not in code  # its own secret, not the code's

    page.reload()
    expect(gate_row(page, "front-door")).to_have_attribute("data-state", "online")
    expect(gate_row(page, "front-door").locator("td").nth(2)).not_to_have_text("—")

    # The code is used up: a second scanner cannot enrol with it.
    other_context = new_context(browser, web_server)
    other = other_context.new_page()
    enrol(other, code)
    expect(other.locator("#setup-message")).to_contain_text("was not accepted")
    other_context.close()

    # Rotate: a new code; the enrolled scanner is refused at its next sync.
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button[aria-label='Rotate secret: front-door']")
    expect(page.locator("#enrollment-title")).to_contain_text("front-door")
    new_code = page.locator("#enrollment-code").inner_text()
    assert new_code != code
    scanner.reload()
    expect(scanner.locator("#setup-message")).to_contain_text("did not accept this gate's secret")
    enrol(scanner, new_code)
    scanner_ready(scanner, "front-door")

    page.click("button[aria-label='Revoke: front-door']")
    expect(gate_row(page, "front-door")).to_have_attribute("data-state", "revoked")
    expect(gate_row(page, "front-door")).to_contain_text("Revoked")
    expect(gate_row(page, "front-door").locator("button")).to_have_count(0)
    scanner.reload()
    expect(scanner.locator("#setup-message")).to_contain_text("did not accept this gate's secret")
    page.set_viewport_size(DESKTOP)
    assert serious_accessibility_violations(page) == []
    screenshot(page, "admin-gates-desktop")
    scanner_context.close()


def offline(context: BrowserContext) -> None:
    context.route("**/*", lambda route: route.abort("internetdisconnected"))


def test_two_offline_gates_admitting_one_pass_show_up_as_a_conflict_side_by_side(
    browser: Browser, page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    sign_in(page)
    codes = {name: add_gate_on_page(page, name) for name in ("front-door", "side-door")}
    issued = new_pass(web_server)
    scanners: dict[str, tuple[BrowserContext, Page]] = {}
    for name, code in codes.items():
        context = new_context(browser, web_server)
        scanner = context.new_page()
        enrol(scanner, code)
        scanner_ready(scanner, name)
        scanners[name] = (context, scanner)

    for context, scanner in scanners.values():
        offline(context)
        scan(scanner, issued["token"])
        expect(scanner.locator("#decision")).to_have_attribute("data-result", "allow")
        expect(scanner.locator("#decision")).to_have_attribute("data-mode", "offline")

    # front-door reaches the server again but its uploads fail: the panel shows them waiting.
    front_context, front = scanners["front-door"]

    def refuse_upload(route: Route) -> None:
        route.fulfill(status=503, json={"detail": "try later"})

    front_context.unroute("**/*")
    front_context.route("**/gate/decisions", refuse_upload)
    front.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(front.locator("#connection")).to_have_attribute("data-link", "online")  # synced
    expect(front.locator("#connection")).to_contain_text("1 offline decision to upload")
    page.reload()
    expect(gate_row(page, "front-door").locator("td.pending")).to_have_text("1")
    expect(gate_row(page, "side-door").locator("td.pending")).to_have_text("0")  # never said

    front_context.unroute("**/gate/decisions", refuse_upload)
    front.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(front.locator("#connection")).not_to_contain_text("to upload")
    side_context, side = scanners["side-door"]
    side_context.unroute("**/*")
    side.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(side.locator("#connection")).not_to_contain_text("to upload")

    rows = audit(web_server)
    assert sorted((row["gate"], row["mode"], row["conflict"]) for row in rows) == [
        ("front-door", "offline", None),
        ("side-door", "offline", "already_used"),
    ]
    page.reload()
    conflict = page.locator(f"#conflict-rows tr[data-pass='{issued['pass_id']}']")
    expect(conflict).to_have_count(1)
    cells = conflict.locator("td")
    expect(cells.nth(2)).to_contain_text("front-door · offline")
    expect(cells.nth(3)).to_contain_text("side-door · offline")
    expect(cells.nth(3)).to_contain_text("second entry")
    expect(page.locator("#audit-rows tr[data-conflict='already_used']")).to_have_count(1)
    expect(gate_row(page, "front-door").locator("td.pending")).to_have_text("0")
    page.set_viewport_size(DESKTOP)
    assert serious_accessibility_violations(page) == []
    screenshot(page, "admin-conflicts-desktop")
    for context, _ in scanners.values():
        context.close()
