"""Browser fixtures: Debian's chromium driven by Playwright, against a live `gymgate serve`
on SQLite, plus helpers to pay, add gates, scan, run axe-core and save screenshots."""

from __future__ import annotations

import re
import shutil
import subprocess
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from testkit.databases import SqliteTemplate
from testkit.live_server import LiveServer, free_port, gymgate_command
from testkit.smtp import SmtpInbox

from tests.conftest import ADMIN_TOKEN

CHROMIUM = Path("/usr/bin/chromium")
WEB_DIR = Path(__file__).resolve().parents[2] / "web"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
# Waits for the page to reach a state; a deadline, never a sleep.
UI_TIMEOUT_MS = 10_000


def _require_browser_tools() -> None:
    vendored = ((WEB_DIR / "vendor" / name).exists() for name in ("jsQR.js", "qrcode.js"))
    missing = [
        what
        for what, ok in (
            ("chromium", CHROMIUM.exists()),
            ("web/vendor (make web-assets)", all(vendored)),
        )
        if not ok
    ]
    if missing:
        needs = ", ".join(missing)
        pytest.fail(f"browser tests need {needs}: run `make web-browser web-assets`")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """One Playwright driver per module: its event loop never overlaps an async test's."""
    _require_browser_tools()
    with sync_playwright() as driver:
        yield driver


def launch(playwright: Playwright, *extra_args: str) -> Browser:
    """Headless Debian chromium; never a Playwright-downloaded browser."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch(playwright)
    yield chromium
    chromium.close()


def new_context(browser: Browser, server: LiveServer, size: ViewportSize = PHONE) -> BrowserContext:
    """A fresh profile (empty localStorage) pointed at the server, in a fixed locale and zone;
    `csp_violations(context)` lists what its pages' Content-Security-Policy blocked."""
    context = browser.new_context(
        base_url=server.url,
        viewport=size,
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    _watch_csp(context)
    return context


# Chromium logs what a policy blocks ("Refused to load …"); the page's own
# securitypolicyviolation event is logged too, by a script the policy does not govern.
_CSP_REPORTER = """document.addEventListener("securitypolicyviolation", (event) =>
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI}`));"""
_CSP_MESSAGE = re.compile(r"CSP violation|Content Security Policy")
_csp_seen: weakref.WeakKeyDictionary[BrowserContext, list[str]] = weakref.WeakKeyDictionary()


def _watch_csp(context: BrowserContext) -> None:
    seen: list[str] = []
    _csp_seen[context] = seen
    context.add_init_script(_CSP_REPORTER)
    context.on("console", lambda m: seen.append(m.text) if _CSP_MESSAGE.search(m.text) else None)


def csp_violations(context: BrowserContext) -> list[str]:
    """Every CSP violation reported so far by the context's pages (console lines)."""
    return list(_csp_seen[context])


def live_server_on_sqlite(
    workdir: Path, template: SqliteTemplate, *, port: int | None = None, **extra_env: str
) -> LiveServer:
    """An unstarted `gymgate serve` on a fresh SQLite file; it makes its own first key."""
    env = {
        "GYMGATE_DATABASE_URL": template.fresh_copy(workdir),
        "GYMGATE_KEYS_DIR": str(workdir / "keys"),
        "GYMGATE_ADMIN_TOKEN": ADMIN_TOKEN,
        # A demo install, as `make run` is: the mock provider's outcome choice shows.
        "GYMGATE_DEV_MODE": "1",
        **extra_env,
    }
    return LiveServer(workdir, env, port=port)


def mailing_server_on_sqlite(
    workdir: Path, template: SqliteTemplate, inbox: SmtpInbox, **extra_env: str
) -> LiveServer:
    """`live_server_on_sqlite` mailing through `inbox`, its pass links pointing at itself."""
    port = free_port()
    return live_server_on_sqlite(
        workdir,
        template,
        port=port,
        GYMGATE_SMTP_URL=inbox.url,
        GYMGATE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **extra_env,
    )


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    """An SMTP server on loopback that keeps what it is sent."""
    with SmtpInbox() as server:
        yield server


@pytest.fixture
def web_server(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[LiveServer]:
    """A live server on SQLite only: browser tests need one backend, not both."""
    with live_server_on_sqlite(tmp_path, sqlite_template) as server:
        yield server


@pytest.fixture
def context(browser: Browser, web_server: LiveServer) -> Iterator[BrowserContext]:
    """A context whose pages must never trip the Content-Security-Policy."""
    ctx = new_context(browser, web_server)
    yield ctx
    violations = csp_violations(ctx)
    ctx.close()
    assert violations == [], "the pages broke their Content-Security-Policy"


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


# ---- arranging state through the public API -------------------------------------------


def add_gate(server: LiveServer, name: str) -> str:
    """`gymgate gates add NAME` against the server's database; the secret."""
    done = subprocess.run(
        [*gymgate_command(), "gates", "add", name],
        env=server.env,
        cwd=server.workdir,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1]


def new_pass(server: LiveServer, email: str = "ana@example.com", **body: Any) -> dict[str, Any]:
    """Pay and generate the QR; the JSON of /generate_qr plus the payment id."""
    payment = httpx.post(server.url + "/create_payment", json={"email": email, **body}).json()
    issued = httpx.post(server.url + "/generate_qr", json={"payment_id": payment["payment_id"]})
    assert issued.status_code == 201, issued.text
    result: dict[str, Any] = {**issued.json(), "payment_id": payment["payment_id"]}
    return result


def qr_png(server: LiveServer, payment_id: str) -> bytes:
    response = httpx.post(
        server.url + "/generate_qr", json={"payment_id": payment_id, "format": "png"}
    )
    assert response.status_code == 201, response.text
    return response.content


def verify(server: LiveServer, secret: str, token: str) -> dict[str, Any]:
    response = httpx.post(
        server.url + "/verify",
        json={"token": token},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def audit(server: LiveServer, **query: str) -> list[dict[str, Any]]:
    response = httpx.get(
        server.url + "/audit",
        params={"limit": "500", **query},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def remember(page: Page, key: str, value: str) -> None:
    """Put a value in the page origin's localStorage, as the page itself would."""
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, value])


# ---- checks a person would make -----------------------------------------------------------


def serious_accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (vendored from npm, served by the app) run in the page: serious/critical only."""
    page.add_script_tag(url="/vendor/axe.min.js")
    results: dict[str, Any] = page.evaluate("() => axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Save a full-page PNG under tests/e2e/artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        pytest.fail("the fake-camera test needs ffmpeg: run `make test` (or make web-browser)")
    return found


def camera_video(png: bytes, directory: Path) -> Path:
    """A one-second 640x480 y4m of the QR on white: what Chromium's fake camera plays, looped."""
    picture, video = directory / "qr.png", directory / "qr.y4m"
    picture.write_bytes(png)
    subprocess.run(
        [
            ffmpeg(),
            *("-y", "-loglevel", "error", "-loop", "1", "-i", str(picture)),
            *("-vf", "scale=440:440,pad=640:480:100:20:white,format=yuv420p"),
            *("-t", "1", "-r", "10", str(video)),
        ],
        check=True,
        timeout=60,
    )
    return video


@contextmanager
def camera_scanner(
    playwright: Playwright, server: LiveServer, picture: bytes, directory: Path, secret: str
) -> Iterator[Page]:
    """The scanner page on a desktop whose (fake) camera films `picture`, set up by hand as
    gate front-door with `secret`: a browser of its own, closed afterwards."""
    video = camera_video(picture, directory)
    desk = launch(
        playwright,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    try:
        context = new_context(desk, server, DESKTOP)
        context.grant_permissions(["camera"])
        page = context.new_page()
        page.goto("/scan")
        page.fill("#gate-name", "front-door")
        page.fill("#gate-secret", secret)
        page.keyboard.press("Enter")
        yield page
    finally:
        desk.close()
