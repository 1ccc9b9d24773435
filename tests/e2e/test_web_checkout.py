"""The member page with the stripe provider, in real Chromium against a Stripe-compatible
fake on loopback: off to the hosted checkout, back to "confirming your payment", the pass
once the signed webhook lands; a cancelled checkout says so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
from testkit.databases import SqliteTemplate
from testkit.fake_stripe import FakeStripe
from testkit.live_server import LiveServer, free_port
from testkit.smtp import SmtpInbox, links_in

from tests.e2e.conftest import (
    add_gate,
    audit,
    camera_scanner,
    live_server_on_sqlite,
    new_context,
)

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]
WEBHOOK_SECRET = "whsec_e2e_fake"


@pytest.fixture
def stripe_server(
    tmp_path: Path, sqlite_template: SqliteTemplate, inbox: SmtpInbox
) -> Iterator[tuple[LiveServer, FakeStripe]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (
        FakeStripe(url + "/webhooks/payment", WEBHOOK_SECRET) as stripe,
        live_server_on_sqlite(
            tmp_path,
            sqlite_template,
            port=port,
            GYMGATE_DEV_MODE="0",
            GYMGATE_PAYMENT_PROVIDER="stripe",
            GYMGATE_STRIPE_SECRET_KEY="sk_test_fake",
            GYMGATE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            GYMGATE_STRIPE_SUCCESS_URL=url + "/",
            GYMGATE_STRIPE_API_BASE=stripe.url,
            GYMGATE_SMTP_URL=inbox.url,
            GYMGATE_PUBLIC_URL=url,
        ) as server,
    ):
        yield server, stripe


@pytest.fixture
def phone(browser: Browser, stripe_server: tuple[LiveServer, FakeStripe]) -> Iterator[Page]:
    context: BrowserContext = new_context(browser, stripe_server[0])
    yield context.new_page()
    context.close()


def go_to_checkout(page: Page, stripe: FakeStripe) -> None:
    page.goto("/")
    expect(page.locator("#offer-price")).to_have_text("€15.00")
    expect(page.locator("#demo-outcome")).to_be_hidden()
    page.fill("#email", "ana@example.com")
    page.fill("#name", "Ana")
    page.click("#pay")
    page.wait_for_url(stripe.url + "/pay/*")
    expect(page.locator("h1")).to_have_text("Fake checkout")
    expect(page.locator("body")).to_contain_text("15.00 EUR")


def test_paying_at_the_hosted_checkout_brings_the_pass_and_its_email(
    phone: Page,
    stripe_server: tuple[LiveServer, FakeStripe],
    inbox: SmtpInbox,
    screenshot: Screenshot,
) -> None:
    _, stripe = stripe_server
    stripe.hold_webhooks = True  # the provider confirms a little after the member is back
    go_to_checkout(phone, stripe)
    phone.click("#checkout-pay")

    expect(phone.locator("#pay-message")).to_contain_text("Confirming your payment")
    expect(phone.locator("#check-payment")).to_be_visible()
    screenshot(phone, "member-confirming-phone")
    assert inbox.messages == [], "no email before the provider confirms"

    stripe.release()
    phone.click("#check-payment")
    expect(phone.locator("#pass-state")).to_have_text("Ready: show this code at the turnstile")
    expect(phone.locator("#pass-holder")).to_have_text("Ana")
    [message] = inbox.wait_for(1)
    assert message["To"] == "ana@example.com"
    assert len(links_in(message)) == 1


def test_the_page_confirms_on_its_own_without_the_button(
    phone: Page, stripe_server: tuple[LiveServer, FakeStripe]
) -> None:
    _, stripe = stripe_server
    stripe.hold_webhooks = True
    go_to_checkout(phone, stripe)
    phone.click("#checkout-pay")
    expect(phone.locator("#pay-message")).to_contain_text("Confirming your payment")
    stripe.release()
    expect(phone.locator("#pass-state")).to_contain_text("Ready")  # the backoff re-check


def test_a_cancelled_checkout_says_nothing_was_charged(
    phone: Page, stripe_server: tuple[LiveServer, FakeStripe], screenshot: Screenshot
) -> None:
    _, stripe = stripe_server
    go_to_checkout(phone, stripe)
    phone.click("#checkout-cancel")
    expect(phone.locator("#pay-message")).to_contain_text("didn't go through")
    expect(phone.locator("#pay-message")).to_contain_text("nothing was charged")
    expect(phone.locator("#check-payment")).to_be_hidden()
    screenshot(phone, "member-checkout-cancelled-phone")


def test_a_newcomer_pays_opens_the_emailed_link_elsewhere_and_gets_in_once(
    phone: Page,
    browser: Browser,
    playwright: Playwright,
    stripe_server: tuple[LiveServer, FakeStripe],
    inbox: SmtpInbox,
    tmp_path: Path,
    screenshot: Screenshot,
) -> None:
    """The whole journey, as a member and a front desk would live it: pay at the hosted
    checkout, open the emailed link on another phone, hold that phone's code up to the
    scanner page's camera, and watch both phones say the pass was used."""
    server, stripe = stripe_server
    go_to_checkout(phone, stripe)
    phone.click("#checkout-pay")
    expect(phone.locator("#pass-state")).to_have_text("Ready: show this code at the turnstile")
    short_id = phone.locator("#pass-short").inner_text()
    screenshot(phone, "journey-1-paid-phone")

    [message] = inbox.wait_for(1)
    [link] = links_in(message)
    other = new_context(browser, server)  # another phone: a fresh profile, nothing stored
    second = other.new_page()
    second.goto(link)
    expect(second.locator("#pass-state")).to_have_text("Ready: show this code at the turnstile")
    expect(second.locator("#pass-short")).to_have_text(short_id)
    screenshot(second, "journey-2-emailed-link-phone")

    # The scanner's camera sees exactly what the second phone shows.
    picture = second.locator("#pass-qr").screenshot()
    secret = add_gate(server, "front-door")
    with camera_scanner(playwright, server, picture, tmp_path, secret) as scanner:
        expect(scanner.locator("#verdict")).to_have_text("ALLOW")
        expect(scanner.locator("#decision")).to_contain_text("Ana")
        screenshot(scanner, "journey-3-scanner-allow-desktop")

    for member in (second, phone):
        expect(member.locator("#pass-state")).to_contain_text("Used at")
        expect(member.locator("#pass-state")).to_contain_text("front-door")
        expect(member.locator("#pass-countdown")).to_have_text("—")  # the countdown stops
        expect(member.locator("#brightness-hint")).to_be_hidden()  # nothing left to scan
    screenshot(second, "journey-4-used-phone")
    rows = audit(server)
    assert [(row["result"], row["gate"]) for row in rows] == [("allow", "front-door")]
    other.close()
