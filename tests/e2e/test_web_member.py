"""The member page (`/`) in real Chromium: pay on a phone, show the QR, follow its status."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from testkit.databases import SqliteTemplate
from testkit.live_server import LiveServer
from testkit.qr_reader import qr_text

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import (
    DESKTOP,
    add_gate,
    csp_violations,
    live_server_on_sqlite,
    new_context,
    serious_accessibility_violations,
    verify,
)

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]


def pay_on_the_page(page: Page, email: str = "ana@example.com", name: str = "Ana") -> None:
    submit_payment(page, email, name)
    expect(page.locator("#pass-state")).to_contain_text("Ready")


def submit_payment(page: Page, email: str = "ana@example.com", name: str = "Ana") -> None:
    page.goto("/")
    page.fill("#email", email)
    page.fill("#name", name)
    page.click("#pay")


def read_qr(page: Page) -> str:
    """Decode the QR as the page draws it, from a screenshot of the image."""
    return qr_text(page.locator("#pass-qr").screenshot())


def focused_id(page: Page) -> str:
    element_id: str = page.evaluate("() => document.activeElement && document.activeElement.id")
    return element_id


def test_paying_with_the_keyboard_on_a_phone_shows_a_qr_the_gate_admits(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    page.goto("/")
    expect(page.locator("#buy")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "member-buy-phone")

    page.keyboard.press("Tab")
    assert focused_id(page) == "email"
    page.keyboard.type("ana@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("Ana Lima")
    page.keyboard.press("Tab")  # the payment-outcome radio group; "succeeds" is chosen
    page.keyboard.press("Tab")
    assert focused_id(page) == "pay"
    page.keyboard.press("Enter")

    expect(page.locator("#pass-state")).to_have_text("Ready: show this code at the turnstile")
    expect(page.locator("#pass-holder")).to_have_text("Ana Lima")
    expect(page.locator("#pass-countdown")).to_have_text(re.compile(r"^2[34]:\d\d:\d\d$"))
    box = page.locator("#pass-qr").bounding_box()
    assert box is not None
    assert box["width"] >= 300, "the QR fills most of a phone's width"
    screenshot(page, "member-pass-phone")
    assert serious_accessibility_violations(page) == []

    token = read_qr(page)
    answer = verify(web_server, add_gate(web_server, "front-door"), token)
    assert answer["status"] == "allow"

    status = httpx.get(f"{web_server.url}/passes/{answer['pass_id']}").json()
    used_at = datetime.fromisoformat(status["used_at"]).strftime("%H:%M")  # the page is in UTC
    expect(page.locator("#pass-state")).to_have_text(f"Used at {used_at}, front-door")
    expect(page.locator("#qr-veil")).to_have_text("Used")

    page.set_viewport_size(DESKTOP)
    screenshot(page, "member-pass-used-desktop")
    page.goto("/")
    page.locator("#new-pass").click()
    expect(page.locator("#buy")).to_be_visible()
    expect(page.locator("#back-to-pass")).to_be_visible()
    screenshot(page, "member-buy-desktop")


def test_the_pass_survives_a_reload_and_opens_without_a_server(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    pay_on_the_page(page)
    short_id = page.locator("#pass-short").inner_text()
    assert page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    expect(page.locator("#pass-short")).to_have_text(short_id)

    web_server.stop()
    expect(page.locator("#pass-network")).to_contain_text("You're offline")
    expect(page.locator("#pass-network")).to_contain_text("still works at the gate")
    page.reload()  # no server: the service worker's copy of the page, the pass from storage
    expect(page.locator("#pass-short")).to_have_text(short_id)
    expect(page.locator("#pass-state")).to_contain_text("Ready")
    assert page.evaluate("() => document.getElementById('pass-qr').naturalWidth") > 0
    expect(page.locator("#pass-network")).to_contain_text("You're offline")
    screenshot(page, "member-offline-phone")


def test_a_pass_the_front_desk_refunds_shows_revoked(page: Page, web_server: LiveServer) -> None:
    pay_on_the_page(page)
    # Refunds are an operator's act: the page sends members to the desk, not to a button.
    expect(page.locator("#refund-hint")).to_contain_text("front desk")
    payment_id = page.evaluate("() => JSON.parse(localStorage['gymgate.pass']).payment_id")
    refunded = httpx.post(
        f"{web_server.url}/payments/{payment_id}/refund",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert refunded.status_code == 200, refunded.text

    page.reload()

    expect(page.locator("#pass-state")).to_contain_text("Revoked")
    expect(page.locator("#qr-veil")).to_have_text("Revoked")


def test_an_expired_pass_says_so(
    browser: Browser, tmp_path: Path, sqlite_template: SqliteTemplate
) -> None:
    with live_server_on_sqlite(tmp_path, sqlite_template, GYMGATE_PASS_TTL_SECONDS="2") as server:
        context = new_context(browser, server)
        page = context.new_page()
        # Not waiting for "Ready": on a loaded machine a 2 s pass can be over before the page
        # first draws it, and then it must say so from the start.
        submit_payment(page)
        expect(page.locator("#pass-state")).to_contain_text("Expired at", timeout=15_000)
        expect(page.locator("#pass-countdown")).to_have_text("0:00:00")
        assert csp_violations(context) == []
        context.close()


def test_payment_problems_are_told_in_sentences(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    message = page.locator("#pay-message")
    page.goto("/")
    page.click("#pay")
    expect(message).to_have_text("Enter your email address, for example ana@example.com.")

    page.fill("#email", "ana@example.com")
    page.check("input[value=failed]")
    page.click("#pay")
    expect(message).to_contain_text("Your payment didn't go through")

    page.check("input[value=pending]")
    page.click("#pay")
    expect(message).to_contain_text("Your payment is still pending")
    screenshot(page, "member-pending-phone")

    web_server.stop()
    page.check("input[value=completed]")
    page.click("#pay")
    expect(message).to_contain_text("can't reach the gymgate server")
    assert "Traceback" not in page.content()
