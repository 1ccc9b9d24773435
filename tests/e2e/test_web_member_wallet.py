"""Wallet buttons on the member page in real Chromium: shown only for configured wallets; the
Apple button downloads a .pkpass whose QR token the gate admits; the Google button links to
pay.google.com with a JWT the service account's key verifies; both go once the pass is used."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import Browser, Page, expect
from testkit.databases import SqliteTemplate
from testkit.live_server import free_port
from testkit.wallet_credentials import ISSUER_ID, WalletCredentials

from tests.e2e.conftest import add_gate, csp_violations, live_server_on_sqlite, new_context, verify
from tests.e2e.test_web_member_journey import pay_on_the_page

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], Path]
SAVE_URL = "https://pay.google.com/gp/v/save/"


def test_without_wallet_settings_the_pass_has_no_wallet_buttons(page: Page) -> None:
    pay_on_the_page(page)

    expect(page.locator("#apple-wallet")).to_be_hidden()
    expect(page.locator("#google-wallet")).to_be_hidden()
    expect(page.locator("#wallets")).to_be_hidden()


def test_wallet_buttons_deliver_the_same_pass_and_go_once_it_is_used(
    browser: Browser, tmp_path: Path, sqlite_template: SqliteTemplate, screenshot: Screenshot
) -> None:
    credentials = WalletCredentials.make(tmp_path / "wallet")
    port = free_port()
    with live_server_on_sqlite(
        tmp_path,
        sqlite_template,
        port=port,
        GYMGATE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        GYMGATE_GYM_NAME="Iron Temple",
        **credentials.env(),
    ) as server:
        context = new_context(browser, server)
        page = context.new_page()
        pay_on_the_page(page)
        pass_id = page.locator("#pass-short").get_attribute("title")
        payment_id = page.evaluate("JSON.parse(localStorage.getItem('gymgate.pass')).payment_id")

        google = page.locator("#google-wallet")
        expect(google).to_be_visible()
        expect(google).to_have_text("Save to Google Wallet")
        link = google.get_attribute("href") or ""
        assert link.startswith(SAVE_URL)
        claims = jwt.decode(
            link.removeprefix(SAVE_URL),
            credentials.google_public_key,
            algorithms=["RS256"],
            audience="google",
        )
        [card] = claims["payload"]["genericObjects"]
        assert card["id"] == f"{ISSUER_ID}.{pass_id}"
        assert claims["origins"] == [server.url]
        expect(page.locator("#apple-wallet")).to_be_visible()
        screenshot(page, "member-wallet-buttons-phone")

        with (
            page.expect_response("**/passes/wallet/apple") as answered,
            page.expect_download() as downloading,
        ):
            page.locator("#apple-wallet").click()
        assert answered.value.status == 200
        assert answered.value.headers["content-type"] == "application/vnd.apple.pkpass"
        download = downloading.value
        assert download.suggested_filename.endswith(".pkpass")
        with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
            pass_json = json.loads(archive.read("pass.json"))
        assert pass_json["serialNumber"] == pass_id
        token = pass_json["barcodes"][0]["message"]

        secret = add_gate(server, "front-door")
        assert verify(server, secret, token)["status"] == "allow"
        expect(page.locator("#pass-state")).to_contain_text("Used")
        expect(page.locator("#wallets")).to_be_hidden()
        screenshot(page, "member-wallet-pass-used-phone")
        assert csp_violations(context) == []
        context.close()
        log = server.log()

    assert payment_id not in log
    assert token not in log
    assert card["barcode"]["value"] not in log
