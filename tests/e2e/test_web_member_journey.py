"""The member journey in real Chromium: the offer before paying, the emailed link opening the
same pass on another phone, every pass on the phone with its state, and "Lost your pass?"."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from testkit.databases import SqliteTemplate
from testkit.live_server import LiveServer
from testkit.smtp import SmtpInbox, links_in

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import (
    add_gate,
    live_server_on_sqlite,
    mailing_server_on_sqlite,
    new_context,
    verify,
)
from tests.e2e.test_web_member import read_qr

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]


@pytest.fixture
def mail_server(
    tmp_path: Path, sqlite_template: SqliteTemplate, inbox: SmtpInbox
) -> Iterator[LiveServer]:
    """A live server in dev mode that mails through the test's SMTP server."""
    with mailing_server_on_sqlite(
        tmp_path, sqlite_template, inbox, GYMGATE_GYM_NAME="Iron Temple"
    ) as server:
        yield server


def pay_on_the_page(page: Page, email: str = "ana@example.com", name: str = "Ana") -> None:
    page.goto("/")
    page.fill("#email", email)
    page.fill("#name", name)
    page.click("#pay")
    expect(page.locator("#pass-state")).to_contain_text("Ready")


def buy_another(page: Page, name: str) -> None:
    page.locator("#new-pass").click()
    page.fill("#email", "ana@example.com")
    page.fill("#name", name)
    page.click("#pay")
    expect(page.locator("#pass-holder")).to_have_text(name)


def test_the_offer_is_clear_before_paying(
    browser: Browser, mail_server: LiveServer, screenshot: Screenshot
) -> None:
    context = new_context(browser, mail_server)
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#gym-name")).to_have_text("Iron Temple")
    expect(page.locator("#offer-price")).to_have_text("€15.00")  # en-GB, EUR
    expect(page.locator("#offer-entry")).to_contain_text("One entry")
    expect(page.locator("#offer-validity")).to_have_text("Valid 24 h from when it is issued.")
    expect(page.locator("#offer-refunds")).to_contain_text("front desk")
    expect(page.locator("#demo-outcome")).to_be_visible()
    expect(page.locator("#demo-outcome legend")).to_contain_text("Demo")
    screenshot(page, "member-offer-phone")
    context.close()


def test_outside_dev_mode_there_is_no_demo_outcome_and_prices_follow_the_currency(
    browser: Browser, tmp_path: Path, sqlite_template: SqliteTemplate
) -> None:
    # Outside dev mode the mock provider is refused: a real (Stripe-compatible) one is set.
    with live_server_on_sqlite(
        tmp_path,
        sqlite_template,
        GYMGATE_DEV_MODE="0",
        GYMGATE_CURRENCY="USD",
        GYMGATE_PAYMENT_PROVIDER="stripe",
        GYMGATE_STRIPE_SECRET_KEY="sk_test_not_used",
        GYMGATE_STRIPE_WEBHOOK_SECRET="whsec_not_used",
        GYMGATE_STRIPE_SUCCESS_URL="http://127.0.0.1/",
    ) as server:
        context = new_context(browser, server)
        page = context.new_page()
        page.goto("/")
        expect(page.locator("#offer-price")).to_have_text("US$15.00")
        expect(page.locator("#demo-outcome")).to_be_hidden()
        context.close()


def test_the_emailed_link_opens_the_same_pass_on_another_phone(
    browser: Browser, mail_server: LiveServer, inbox: SmtpInbox, screenshot: Screenshot
) -> None:
    phone = new_context(browser, mail_server)
    first = phone.new_page()
    pay_on_the_page(first, name="Ana Lima")
    short_id = first.locator("#pass-short").inner_text()
    [message] = inbox.wait_for(1)
    assert message["To"] == "ana@example.com"
    [link] = links_in(message)
    assert link.startswith(mail_server.url + "/p/#")
    secret = link.partition("#")[2]

    other_phone = new_context(browser, mail_server)  # a fresh profile: nothing stored
    second = other_phone.new_page()
    second.goto(link)
    expect(second.locator("#pass-state")).to_have_text("Ready: show this code at the turnstile")
    expect(second.locator("#pass-short")).to_have_text(short_id)
    expect(second.locator("#pass-holder")).to_have_text("Ana Lima")
    assert secret not in second.url, "the link leaves the address bar once opened"
    screenshot(second, "member-link-phone")

    answer = verify(mail_server, add_gate(mail_server, "front-door"), read_qr(second))
    assert answer["status"] == "allow"
    expect(first.locator("#pass-state")).to_contain_text("Used at")
    expect(second.locator("#pass-state")).to_contain_text("Used at")
    log = mail_server.log()
    assert secret not in log, "the link never reaches a log"
    assert '"path": "/p/"' in log or "/p/" in log, "the page was fetched without its secret"
    phone.close()
    other_phone.close()


def test_several_passes_are_listed_active_first_each_with_its_state(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    pay_on_the_page(page, name="Used one")
    used_id = page.evaluate("() => JSON.parse(localStorage['gymgate.pass']).pass_id")
    token = page.evaluate("() => JSON.parse(localStorage['gymgate.pass']).token")
    answer = verify(web_server, add_gate(web_server, "front-door"), token)
    assert answer["status"] == "allow"
    buy_another(page, "Refunded one")
    refunded = page.evaluate("() => JSON.parse(localStorage['gymgate.pass']).payment_id")
    response = httpx.post(
        f"{web_server.url}/payments/{refunded}/refund",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    buy_another(page, "Fresh one")

    page.reload()
    items = page.locator("#passes-list .pass-item")
    expect(items).to_have_count(3)
    used_at = httpx.get(f"{web_server.url}/passes/{used_id}").json()["used_at"]
    when = datetime.fromisoformat(used_at).strftime("%H:%M")
    expect(items.nth(0)).to_contain_text("Fresh one")
    expect(items.nth(0)).to_contain_text("Ready")
    expect(items.nth(1)).to_contain_text(f"Used at {when}, front-door")
    expect(items.nth(2)).to_contain_text("Revoked")
    screenshot(page, "member-passes-phone")

    items.nth(1).click()
    expect(page.locator("#pass-state")).to_have_text(f"Used at {when}, front-door")
    expect(page.locator("#pass-countdown")).to_have_text("—")
    expect(page.locator("#qr-veil")).to_have_text("Used")
    page.locator("#passes-list .pass-item").nth(2).click()
    expect(page.locator("#pass-state")).to_contain_text("Revoked")
    expect(page.locator("#pass-countdown")).to_have_text("—")


def test_lost_your_pass_emails_the_links_and_says_the_same_for_anyone(
    browser: Browser, mail_server: LiveServer, inbox: SmtpInbox, screenshot: Screenshot
) -> None:
    payment = httpx.post(mail_server.url + "/create_payment", json={"email": "ana@example.com"})
    assert payment.json()["status"] == "completed"
    inbox.wait_for(1)
    context = new_context(browser, mail_server)
    page = context.new_page()
    page.goto("/")
    page.locator("#lost summary").click()
    page.fill("#resend-email", "nobody@example.com")
    page.click("#resend")
    expect(page.locator("#resend-message")).to_contain_text("If nobody@example.com has a pass")
    stranger = page.locator("#resend-message").inner_text()  # read once the answer is shown
    page.fill("#resend-email", "ana@example.com")
    page.click("#resend")
    expect(page.locator("#resend-message")).to_contain_text("If ana@example.com has a pass")
    assert stranger.replace("nobody@", "ana@") == page.locator("#resend-message").inner_text()
    screenshot(page, "member-lost-phone")

    messages = inbox.wait_for(2)
    assert [m["To"] for m in messages] == ["ana@example.com", "ana@example.com"]
    page.goto(links_in(messages[1])[0])
    expect(page.locator("#pass-state")).to_contain_text("Ready")
    context.close()


def test_an_old_or_broken_link_says_what_to_do(page: Page, web_server: LiveServer) -> None:
    page.goto("/p/#not-a-real-link")
    expect(page.locator("#pay-message")).to_contain_text("This pass link doesn't work")
    expect(page.locator("#lost")).to_be_visible()
    assert re.search(r"/$", page.url)


def test_in_dev_mode_without_smtp_the_email_waits_in_the_outbox_and_the_log_says_where(
    page: Page, web_server: LiveServer, tmp_path: Path
) -> None:
    payment = httpx.post(web_server.url + "/create_payment", json={"email": "ana@example.com"})
    assert payment.json()["status"] == "completed"
    [saved] = (tmp_path / "outbox").glob("*.eml")
    message = message_from_bytes(saved.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    [link] = links_in(message)
    # GYMGATE_PUBLIC_URL is left at its default: open the same path on the test's server.
    assert link.startswith("http://localhost:8000/p/#")
    page.goto("/p/" + link.partition("/p/")[2])
    expect(page.locator("#pass-state")).to_contain_text("Ready")

    log = web_server.log()
    assert str((tmp_path / "outbox").resolve()) in log, "the server says where mail goes"
    assert link.partition("#")[2] not in log
    assert payment.json()["payment_id"] not in log
