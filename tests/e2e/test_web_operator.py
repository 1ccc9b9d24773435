"""The operator page's front-desk tools in real Chromium: today at a glance, the date range and
gate, charts, who came in, the CSV download, keys rotated and retired, payments refunded."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.sync_api import Page, expect
from testkit.live_server import LiveServer

from gymgate.storage.sqlite_setup import sqlite_path
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


def sign_in(page: Page) -> None:
    page.goto("/admin")
    page.fill("#admin-token", ADMIN_TOKEN)
    page.keyboard.press("Enter")
    expect(page.locator("#dashboard")).to_be_visible()


def no_serious_violations(page: Page) -> None:
    assert serious_accessibility_violations(page) == []


def fits_the_screen(page: Page) -> bool:
    """Nothing sticks out sideways: the page needs no horizontal scrolling."""
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def user_of(token: str) -> str:
    """The member id a pass token names (its `sub`): payment answers carry only a
    per-payment pseudonym, the audit log the member's own id."""
    user: str = jwt.decode(token, options={"verify_signature": False})["sub"]
    return user


def offline_double_entry(server: LiveServer, pass_id: str, user_id: str, gate: str) -> None:
    """What a gate's sync leaves behind when it let a used pass in offline: an allow row
    with a conflict (written straight into the server's SQLite file)."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    with sqlite3.connect(sqlite_path(server.env["GYMGATE_DATABASE_URL"])) as db:
        db.execute(
            "INSERT INTO audit_events (at, gate, result, pass_id, user_id, token_sha256, mode,"
            " conflict, decision_id) VALUES (?, ?, 'allow', ?, ?, ?, 'offline',"
            " 'already_used', 'gate-decision-1')",
            (now, gate, pass_id, user_id, "0" * 64),
        )


def a_busy_morning(server: LiveServer) -> dict[str, Any]:
    """Ana in at the front, Bo at the side, one junk scan, Ana's pass shown again, and one
    offline double entry of Ana's pass at the side door."""
    front, side = add_gate(server, "front-door"), add_gate(server, "side-door")
    ana = new_pass(server, "ana@example.com", name="Ana Lima")
    bo = new_pass(server, "bo@example.com", name="Bo Berg")
    assert verify(server, front, ana["token"])["status"] == "allow"
    assert verify(server, side, bo["token"])["status"] == "allow"
    assert verify(server, side, "junk")["reason"] == "malformed"
    assert verify(server, front, ana["token"])["reason"] == "already_used"
    offline_double_entry(server, ana["pass_id"], user_of(ana["token"]), "side-door")
    return {"ana": ana, "bo": bo, "front": front, "side": side}


def entry_names(page: Page) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "#entry-rows td.name", "tds => tds.map(td => td.firstChild.textContent)"
    )
    return names


def test_today_at_a_glance_with_charts_and_who_came_in(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    a_busy_morning(web_server)
    sign_in(page)

    expect(page.locator("#today-title")).to_have_text("Today at the gates")
    expect(page.locator("#total-all")).to_have_text("5")
    expect(page.locator("#total-allow")).to_have_text("3")
    expect(page.locator("#total-deny")).to_have_text("2")
    expect(page.locator("#total-conflicts")).to_have_text("1")
    expect(page.locator("#entry-rows tr")).to_have_count(3)
    assert entry_names(page) == ["Ana Lima", "Bo Berg", "Ana Lima"]  # newest first
    expect(page.locator("#entry-rows tr").first).to_contain_text("double entry")
    expect(page.locator("#entry-rows tr").first).to_contain_text("side-door")
    expect(page.locator("#hourly-note")).to_contain_text("3 entries and 2 denied on")
    expect(page.locator("#daily-note")).to_contain_text("3 entries and 2 denied in")
    expect(page.locator("#reasons-note")).to_have_text("Already used: 1, Not a gymgate pass: 1.")
    for chart in ("#hourly-chart", "#daily-chart", "#reasons-chart"):
        expect(page.locator(f"{chart} canvas")).to_be_visible()
    assert fits_the_screen(page)
    no_serious_violations(page)
    screenshot(page, "operator-today-phone")

    # search who came in, by name or email, any case
    page.fill("#e-q", "berg")
    page.keyboard.press("Enter")
    expect(page.locator("#entry-rows tr")).to_have_count(1)
    assert entry_names(page) == ["Bo Berg"]
    page.fill("#e-q", "ANA@EXAMPLE")
    page.keyboard.press("Enter")
    expect(page.locator("#entry-rows tr")).to_have_count(2)
    page.fill("#e-q", "nobody")
    page.keyboard.press("Enter")
    expect(page.locator("#entries-empty")).to_be_visible()
    page.fill("#e-q", "")
    page.keyboard.press("Enter")
    expect(page.locator("#entry-rows tr")).to_have_count(3)

    # one gate: the totals, entries and audit log follow it
    page.select_option("#r-gate", "side-door")
    expect(page.locator("#today-title")).to_have_text("Today at side-door")
    expect(page.locator("#total-all")).to_have_text("3")
    expect(page.locator("#total-conflicts")).to_have_text("1")
    expect(page.locator("#entry-rows tr")).to_have_count(2)
    expect(page.locator("#audit-rows tr")).to_have_count(3)
    no_serious_violations(page)

    # yesterday: nothing happened
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    page.select_option("#r-gate", "")
    page.fill("#r-since", yesterday)
    page.fill("#r-until", yesterday)
    page.click("#range button[type=submit]")
    expect(page.locator("#total-all")).to_have_text("0")
    expect(page.locator("#entries-empty")).to_be_visible()
    expect(page.locator("#audit-empty")).to_be_visible()
    expect(page.locator("#hourly-note")).to_contain_text("No entries on")
    expect(page.locator("#reasons-note")).to_have_text("No denies on these dates.")
    no_serious_violations(page)

    # back to today, on a desktop
    page.click("#r-today")
    expect(page.locator("#total-all")).to_have_text("5")
    page.set_viewport_size(DESKTOP)
    expect(page.locator("#entry-rows tr")).to_have_count(3)
    assert fits_the_screen(page)
    screenshot(page, "operator-today-desktop")


def test_a_range_that_ends_before_it_starts_is_explained(
    page: Page, web_server: LiveServer
) -> None:
    sign_in(page)
    page.fill("#r-since", "2026-03-10")
    page.fill("#r-until", "2026-03-01")
    page.click("#range button[type=submit]")

    expect(page.locator("#range-message")).to_have_text(
        "The “To” date must be on or after the “From” date."
    )
    no_serious_violations(page)


def test_the_csv_download_holds_what_the_filters_select(
    page: Page, web_server: LiveServer, tmp_path: Path
) -> None:
    front = add_gate(web_server, "front-door")
    ana = new_pass(web_server)
    verify(web_server, front, ana["token"])
    for n in range(3):
        verify(web_server, front, f"junk-{n}")
    sign_in(page)
    page.select_option("#f-result", "deny")
    expect(page.locator("#audit-rows tr")).to_have_count(3)

    with page.expect_download() as download:
        page.click("#export")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)

    assert download.value.suggested_filename.startswith("gymgate-audit-")
    assert download.value.suggested_filename.endswith(".csv")
    lines = list(csv.reader(io.StringIO(saved.read_text())))
    assert lines[0][:8] == [
        "at",
        "gate",
        "result",
        "reason",
        "pass_id",
        "user_id",
        "mode",
        "conflict",
    ]
    assert [(row[2], row[3]) for row in lines[1:]] == [("deny", "malformed")] * 3
    expect(page.locator("#updated")).to_contain_text("Downloaded gymgate-audit-")


def test_keys_are_rotated_and_retired_from_the_page_after_a_warning(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    gate = add_gate(web_server, "front-door")
    signed_by_old = new_pass(web_server)["token"]
    sign_in(page)
    expect(page.locator("#key-rows tr")).to_have_count(1)
    old_kid = page.locator("#key-rows tr").first.get_attribute("data-kid")

    page.click("#rotate")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text(
        "QR codes already on members' phones keep opening the gates"
    )
    no_serious_violations(page)
    screenshot(page, "operator-rotate-confirm-phone")
    page.click("#confirm-yes")
    expect(page.locator("#keys-message")).to_contain_text("is active")
    expect(page.locator("#key-rows tr")).to_have_count(2)
    expect(page.locator(f"#key-rows tr[data-kid='{old_kid}']")).to_contain_text("verify-only")
    assert verify(web_server, gate, signed_by_old)["status"] == "allow"  # still verifies

    retire = page.locator(f"#key-rows tr[data-kid='{old_kid}'] button")
    retire.click()
    expect(page.locator("#confirm-text")).to_contain_text("stop opening the gates at once")
    page.click("#confirm-no")  # changed their mind: nothing happens
    expect(page.locator("#confirm")).to_be_hidden()
    expect(page.locator(f"#key-rows tr[data-kid='{old_kid}']")).to_contain_text("verify-only")

    retire.click()
    page.click("#confirm-yes")
    expect(page.locator("#keys-message")).to_have_text(f"Key {old_kid} is retired.")
    expect(page.locator(f"#key-rows tr[data-kid='{old_kid}']")).to_contain_text("retired")
    second = new_pass(web_server, "bo@example.com")["token"]
    assert verify(web_server, gate, second)["status"] == "allow"  # the new key signs
    no_serious_violations(page)


def test_a_payment_is_found_and_refunded_and_a_used_one_is_explained(
    page: Page, web_server: LiveServer, screenshot: Screenshot
) -> None:
    gate = add_gate(web_server, "front-door")
    first = new_pass(web_server, "ana@example.com", name="Ana Lima")
    second = new_pass(web_server, "ana@example.com", name="Ana Lima")
    sign_in(page)

    page.fill("#p-q", "ANA@example.com")
    page.keyboard.press("Enter")
    expect(page.locator("#payment-rows tr")).to_have_count(2)
    expect(page.locator("#payment-rows tr").first).to_contain_text("Not used yet")
    no_serious_violations(page)
    screenshot(page, "operator-payments-phone")

    # the second pass is used at the gate after the list was shown: the refund is refused
    assert verify(web_server, gate, second["token"])["status"] == "allow"
    page.click(f"#payment-rows tr[data-payment-id='{second['payment_id']}'] button")
    expect(page.locator("#confirm-text")).to_contain_text("stops opening the gates at once")
    page.click("#confirm-yes")
    expect(page.locator("#payments-message")).to_contain_text("Not refunded: the pass of payment")
    expect(page.locator("#payments-message")).to_contain_text("already admitted someone")
    used_row = page.locator(f"#payment-rows tr[data-payment-id='{second['payment_id']}']")
    expect(used_row).to_contain_text("Used")
    expect(used_row.locator("button")).to_have_count(0)
    no_serious_violations(page)

    # the unused one, found by its payment id, is refunded and its pass revoked
    page.fill("#p-q", first["payment_id"])
    page.keyboard.press("Enter")
    expect(page.locator("#payment-rows tr")).to_have_count(1)
    page.click("#payment-rows tr button")
    page.click("#confirm-yes")
    expect(page.locator("#payments-message")).to_contain_text("the pass is revoked")
    expect(page.locator("#payment-rows tr").first).to_contain_text("Revoked")
    assert verify(web_server, gate, first["token"])["reason"] == "revoked"

    page.fill("#p-q", "nobody@example.com")
    page.keyboard.press("Enter")
    expect(page.locator("#payments-message")).to_have_text(
        "No payment matches “nobody@example.com”."
    )
