"""The scanner page (`/scan`) when the network drops, in real Chromium: it keeps deciding from
the gate's own data (IndexedDB), admits each pass at most once on this gate, shows amber
"not checked" rather than guessing when its data is stale, and uploads what it decided once
the server is back, where each decision becomes one audit row marked offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from testkit.live_server import LiveServer

from tests.e2e.conftest import (
    DESKTOP,
    add_gate,
    audit,
    new_pass,
    remember,
    serious_accessibility_violations,
)

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]


def set_up_gate(page: Page, secret: str, name: str = "front-door") -> None:
    """What the scanner keeps after its setup, put there directly; then wait for a sync."""
    page.goto("/scan")
    remember(page, "gymgate.scanner", json.dumps({"name": name, "secret": secret}))
    page.reload()
    expect(page.locator("#scanner")).to_be_visible()
    expect(page.locator("#connection")).to_have_attribute("data-link", "online")
    expect(page.locator("#connection")).to_have_attribute("data-fresh", "yes")


def cut_network(context: BrowserContext) -> None:
    """Every request from the page fails, as when the gate's cable is pulled."""
    context.route("**/*", lambda route: route.abort("internetdisconnected"))


def restore_network(context: BrowserContext) -> None:
    context.unroute("**/*")


def scan(page: Page, token: str) -> None:
    page.keyboard.type(token)
    page.keyboard.press("Enter")


def newest(page: Page, result: str, text: str) -> None:
    item = page.locator("#history li").first
    expect(item).to_have_attribute("data-result", result)
    expect(item).to_contain_text(text)


def shown(page: Page, result: str, mode: str) -> None:
    expect(page.locator("#decision")).to_have_attribute("data-result", result)
    expect(page.locator("#decision")).to_have_attribute("data-mode", mode)


def count_scans(page: Page) -> None:
    """Count decisions shown from now on (the panel's data-result changes per decision)."""
    page.evaluate(
        """() => {
            window.results = [];
            const panel = document.getElementById("decision");
            new MutationObserver(() => window.results.push(panel.dataset.result))
                .observe(panel, { attributes: true, attributeFilter: ["data-result"] });
        }"""
    )


def test_offline_the_page_admits_once_then_uploads_audited_offline_rows(
    context: BrowserContext, page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    secret = add_gate(web_server, "front-door")
    first, second = new_pass(web_server, "a@example.com"), new_pass(web_server, "b@example.com")
    set_up_gate(page, secret)
    expect(page.locator("#connection")).to_contain_text("ONLINE")

    cut_network(context)
    scan(page, first["token"])
    shown(page, "allow", "offline")
    expect(page.locator("#verdict")).to_have_text("ALLOW")
    expect(page.locator("#decision-mark")).to_have_text("offline")
    screenshot(page, "scan-offline-allow-phone")
    expect(page.locator("#connection")).to_have_attribute("data-link", "offline")
    expect(page.locator("#connection")).to_contain_text("OFFLINE")
    expect(page.locator("#connection")).to_contain_text("1 offline decision to upload")

    scan(page, first["token"])
    newest(page, "deny", "Already used at")
    expect(page.locator("#decision")).to_have_attribute("data-mode", "offline")
    scan(page, second["token"])
    newest(page, "allow", "Member")
    scan(page, "junk")
    newest(page, "deny", "Not a gymgate pass")
    expect(page.locator("#connection")).to_contain_text("4 offline decisions to upload")
    assert audit(web_server) == []  # nothing reached the server yet
    page.set_viewport_size(DESKTOP)
    expect(page.locator("#decision")).to_be_hidden()
    assert serious_accessibility_violations_offline(context, page) == []
    screenshot(page, "scan-offline-history-desktop")

    restore_network(context)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator("#connection")).to_have_attribute("data-link", "online")
    expect(page.locator("#connection")).not_to_contain_text("to upload")
    rows = audit(web_server)
    assert sorted(
        (row["result"], row["reason"], row["pass_id"], row["mode"]) for row in rows
    ) == sorted(
        [
            ("allow", None, first["pass_id"], "offline"),
            ("deny", "already_used", first["pass_id"], "offline"),
            ("allow", None, second["pass_id"], "offline"),
            ("deny", "malformed", None, "offline"),
        ]
    )
    assert {row["gate"] for row in rows} == {"front-door"}

    # Back online, the server decides again: the pass admitted offline is used up.
    scan(page, second["token"])
    shown(page, "deny", "online")
    newest(page, "deny", "Already used at")


def serious_accessibility_violations_offline(context: BrowserContext, page: Page) -> list[Any]:
    """axe-core is served by the app: let only it through while checking."""
    context.unroute("**/*")
    try:
        return serious_accessibility_violations(page)
    finally:
        cut_network(context)


def test_offline_admission_survives_a_reload_and_is_uploaded_once(
    context: BrowserContext, page: Page, web_server: LiveServer
) -> None:
    secret = add_gate(web_server, "front-door")
    issued = new_pass(web_server)
    set_up_gate(page, secret)

    # The server answers 503 (not a decision) and takes no uploads: the page decides alone.
    def unavailable(route: Route) -> None:
        route.fulfill(status=503, json={"detail": "down for maintenance"})

    context.route("**/verify", unavailable)
    context.route("**/gate/decisions", unavailable)
    scan(page, issued["token"])
    shown(page, "allow", "offline")

    page.reload()  # the decision was on disk before it was shown
    expect(page.locator("#connection")).to_contain_text("1 offline decision to upload")
    assert audit(web_server) == []
    context.unroute("**/verify", unavailable)
    context.unroute("**/gate/decisions", unavailable)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator("#connection")).not_to_contain_text("to upload")
    rows = audit(web_server)
    assert [(row["result"], row["pass_id"], row["mode"]) for row in rows] == [
        ("allow", issued["pass_id"], "offline")
    ]


def test_with_stale_data_the_page_says_not_checked_in_amber_never_green_or_red(
    page: Page, context: BrowserContext, web_server: LiveServer, screenshot: Screenshot
) -> None:
    secret = add_gate(web_server, "front-door")
    token = new_pass(web_server)["token"]
    page.clock.install()
    set_up_gate(page, secret)
    count_scans(page)

    cut_network(context)
    page.clock.fast_forward("25:00:00")  # a day and an hour without reaching the server
    scan(page, token)

    shown(page, "unavailable", "online")
    expect(page.locator("#verdict")).to_have_text("NOT CHECKED")
    expect(page.locator("#decision-detail")).to_contain_text("Cannot decide offline")
    background = page.evaluate(
        "() => getComputedStyle(document.getElementById('decision')).backgroundColor"
    )
    assert background == "rgb(240, 180, 0)", "amber: neither green (admitted) nor red"
    screenshot(page, "scan-stale-phone")
    expect(page.locator("#connection")).to_have_attribute("data-fresh", "no")
    newest(page, "unavailable", "Not checked: cannot decide offline")
    assert page.evaluate("() => window.results") == ["unavailable"]


def test_a_busy_server_is_not_checked_scan_again_not_a_deny(
    page: Page, context: BrowserContext, web_server: LiveServer
) -> None:
    secret = add_gate(web_server, "front-door")
    token = new_pass(web_server)["token"]
    set_up_gate(page, secret)

    context.route(
        "**/verify", lambda route: route.fulfill(status=429, json={"detail": "slow down"})
    )
    scan(page, token)

    shown(page, "unavailable", "online")
    expect(page.locator("#decision-detail")).to_have_text("The server is busy. Scan again.")
    newest(page, "unavailable", "Not checked: scan again")
    assert audit(web_server) == []


def test_a_scanner_reloaded_while_the_server_is_down_still_starts_and_decides(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    secret = add_gate(web_server, "front-door")
    issued = new_pass(web_server)
    set_up_gate(page, secret)
    page.reload()  # the second load comes through the page's service worker, which keeps it
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    web_server.stop()  # the server is gone: only the browser's copies are left
    page.reload()
    expect(page.locator("#scanner")).to_be_visible()
    scan(page, issued["token"])
    shown(page, "allow", "offline")
    expect(page.locator("#connection")).to_contain_text("1 offline decision to upload")
    screenshot(page, "scan-reloaded-offline-phone")

    web_server.start()
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator("#connection")).not_to_contain_text("to upload")
    rows = audit(web_server)
    assert [(row["result"], row["pass_id"], row["mode"]) for row in rows] == [
        ("allow", issued["pass_id"], "offline")
    ]
