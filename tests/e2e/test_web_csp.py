"""The pages under their Content-Security-Policy in real Chromium: each loads its styles and
starts its script without a violation, and what the policy exists to stop (inline and
off-site code) is blocked and reported.

The pages' full flows run under the same watch: the `context` fixture and the scanner's
camera test fail on any violation (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from testkit.live_server import LiveServer

from tests.e2e.conftest import csp_violations, new_context

pytestmark = pytest.mark.e2e

# Each page's first section, shown by its script once it has started.
PAGES = {"/": "#buy", "/scan/": "#setup", "/admin/": "#login"}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_each_page_loads_its_styles_and_scripts_within_the_policy(
    context: BrowserContext, page: Page, path: str
) -> None:
    response = page.goto(path)

    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(PAGES[path])).to_be_visible()
    assert page.evaluate("() => getComputedStyle(document.body).display") == "flex"  # common.css
    assert csp_violations(context) == []


def test_inline_and_off_site_code_is_blocked_and_reported(
    browser: Browser, web_server: LiveServer
) -> None:
    context = new_context(browser, web_server)
    try:
        page = context.new_page()
        page.goto("/")
        with (
            page.expect_console_message(lambda m: "script-src" in m.text),
            page.expect_console_message(lambda m: "img-src" in m.text),
        ):
            page.evaluate(
                """() => {
                    const inline = document.createElement("script");
                    inline.textContent = "window.inlineRan = true";
                    document.body.append(inline);
                    const remote = document.createElement("img");
                    remote.src = "https://cdn.example.invalid/pixel.png";
                    document.body.append(remote);
                }"""
            )

        assert page.evaluate("() => window.inlineRan") is None
        assert len(csp_violations(context)) >= 2
    finally:
        context.close()
