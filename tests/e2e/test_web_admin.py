"""The operator page (`/admin`) in real Chromium: token once, audit rows, filters, paging,
auto-refresh, today's totals, and the key list."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from testkit.live_server import LiveServer

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import (
    DESKTOP,
    add_gate,
    new_pass,
    serious_accessibility_violations,
    verify,
)

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]
JUNK_SCANS = 22  # with 3 more attempts: 25 rows, more than one page of 20
# The page refreshes every 5 s (REFRESH_EVERY_MS in web/admin/admin.js): a scan just after one
# refresh shows at the next, so waiting for it takes one period plus the requests, more than
# Playwright's default 5 s.
NEXT_REFRESH_MS = 5_000 + 5_000


def make_attempts(server: LiveServer) -> None:
    """1 allow and 1 already_used for Ana's pass, then junk: 2 at side-door, the rest at front."""
    front, side = add_gate(server, "front-door"), add_gate(server, "side-door")
    token = new_pass(server)["token"]
    assert verify(server, front, token)["status"] == "allow"
    assert verify(server, side, token)["reason"] == "already_used"
    assert verify(server, side, "junk")["reason"] == "malformed"
    for n in range(JUNK_SCANS):
        verify(server, front, f"junk-{n}")


def rows(page: Page) -> list[tuple[str, str]]:
    """(result, reason) of each audit row on the page."""
    found: list[tuple[str, str]] = page.eval_on_selector_all(
        "#audit-rows tr", "trs => trs.map(tr => [tr.dataset.result, tr.dataset.reason])"
    )
    return [tuple(row) for row in found]  # type: ignore[misc]  # JSON pairs


def test_the_operator_signs_in_once_and_reads_and_filters_the_audit_log(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    make_attempts(web_server)
    page.goto("/admin")
    expect(page.locator("#login")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "admin-login-phone")
    page.fill("#admin-token", "not-the-token")
    page.keyboard.press("Enter")
    expect(page.locator("#login-message")).to_have_text(
        "That admin token was not accepted. Check the server's GYMGATE_ADMIN_TOKEN."
    )
    page.fill("#admin-token", ADMIN_TOKEN)
    page.keyboard.press("Enter")

    expect(page.locator("#dashboard")).to_be_visible()
    expect(page.locator("#audit-rows tr")).to_have_count(20)
    expect(page.locator("#total-all")).to_have_text("25")
    expect(page.locator("#total-allow")).to_have_text("1")
    expect(page.locator("#total-deny")).to_have_text("24")
    expect(page.locator("#reasons li")).to_have_text(["Not a gymgate pass: 23", "Already used: 1"])
    assert rows(page)[0] == ("deny", "malformed")  # newest first
    assert ADMIN_TOKEN not in page.url
    kid = httpx.get(
        web_server.url + "/keys", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).json()["items"][0]["kid"]
    expect(page.locator("#key-rows tr")).to_have_count(1)
    expect(page.locator("#key-rows tr td")).to_have_text(
        [kid, "active", re.compile(r"\d\d:"), "Signs new QR codes"]
    )
    screenshot(page, "admin-dashboard-phone")
    assert serious_accessibility_violations(page) == []

    # paging: 20 newest, then the 5 oldest, ending with the allow
    page.click("#older")
    expect(page.locator("#page-label")).to_have_text("Page 2")
    expect(page.locator("#audit-rows tr")).to_have_count(5)
    assert rows(page)[-1] == ("allow", "")
    expect(page.locator("#older")).to_be_disabled()
    page.click("#newer")
    expect(page.locator("#audit-rows tr")).to_have_count(20)
    expect(page.locator("#newer")).to_be_disabled()

    # filters
    page.select_option("#f-result", "allow")
    expect(page.locator("#audit-rows tr")).to_have_count(1)
    page.select_option("#f-result", "deny")
    expect(page.locator("#audit-rows tr")).to_have_count(20)
    assert {result for result, _ in rows(page)} == {"deny"}
    page.select_option("#f-reason", "already_used")
    expect(page.locator("#audit-rows tr")).to_have_count(1)
    expect(page.locator("#audit-rows tr").first).to_contain_text("side-door")
    page.click("#filters button[type=reset]")
    expect(page.locator("#audit-rows tr")).to_have_count(20)
    page.fill("#f-gate", "side-door")
    page.keyboard.press("Enter")
    expect(page.locator("#audit-rows tr")).to_have_count(2)
    page.fill("#f-since", "2999-01-01T00:00:00")
    page.click("#filters button[type=submit]")
    expect(page.locator("#audit-rows tr")).to_have_count(0)
    expect(page.locator("#audit-empty")).to_be_visible()
    page.click("#filters button[type=reset]")

    # auto-refresh: a new entry appears without touching the page
    page.set_viewport_size(DESKTOP)
    token = new_pass(web_server, "bo@example.com")["token"]
    verify(web_server, add_gate(web_server, "lift"), token)
    expect(page.locator("#total-allow")).to_have_text("2", timeout=NEXT_REFRESH_MS)
    expect(page.locator("#audit-rows tr").first).to_contain_text("lift", timeout=NEXT_REFRESH_MS)
    screenshot(page, "admin-dashboard-desktop")


def test_the_token_is_remembered_and_can_be_forgotten(page: Page, web_server: LiveServer) -> None:
    page.goto("/admin")
    page.fill("#admin-token", ADMIN_TOKEN)
    page.keyboard.press("Enter")
    expect(page.locator("#dashboard")).to_be_visible()
    expect(page.locator("#audit-empty")).to_be_visible()
    page.reload()
    expect(page.locator("#dashboard")).to_be_visible()
    page.click("#sign-out")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('gymgate.adminToken')") is None
