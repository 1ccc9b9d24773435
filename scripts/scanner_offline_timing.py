"""How long the scanner page takes to decide offline, measured in headless Chromium.

Starts `gymgate serve` on a throwaway SQLite database, pays for N passes, syncs a gate in the
scanner page's own code (web/scan/gatelink.js), then times N offline decisions in the page:
the signature check alone (verify.js) and the whole decision (check, then the IndexedDB
transaction that stores it before it is shown). Prints milliseconds per decision.

    .venv/bin/python scripts/scanner_offline_timing.py             # N=200
    .venv/bin/python scripts/scanner_offline_timing.py --passes 500
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from playwright.sync_api import sync_playwright
from testkit.databases import SqliteTemplate
from testkit.live_server import LiveServer, gymgate_command

ADMIN_TOKEN = secrets.token_urlsafe(24)  # a throwaway server's
CHROMIUM = "/usr/bin/chromium"

MEASURE = """async ([gate, tokens]) => {
    const { GateLink } = await import("/scan/gatelink.js");
    const { checkToken } = await import("/scan/verify.js");
    const link = new GateLink(gate, () => {});
    await link.open();
    await link.sync();
    let started = performance.now();
    for (const token of tokens) {
        const checked = await checkToken(token, link.rules, link.now());
        if (!checked.ok) throw new Error(checked.reason);
    }
    const verifyMs = (performance.now() - started) / tokens.length;
    started = performance.now();
    for (const token of tokens) {
        const outcome = await link.decideOffline(token);
        if (outcome.answer.status !== "allow") throw new Error(JSON.stringify(outcome));
    }
    const decideMs = (performance.now() - started) / tokens.length;
    return { verifyMs, decideMs, pending: link.pendingCount };
}"""


def passes(server: LiveServer, count: int) -> list[str]:
    tokens = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for n in range(count):
            payment = client.post("/create_payment", json={"email": f"m{n}@example.com"}).json()
            issued = client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
            tokens.append(issued.json()["token"])
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        database = SqliteTemplate(workdir / "template").fresh_copy(workdir)
        env = {
            "GYMGATE_DATABASE_URL": database,
            "GYMGATE_KEYS_DIR": str(workdir / "keys"),
            "GYMGATE_ADMIN_TOKEN": ADMIN_TOKEN,
            "GYMGATE_DEV_MODE": "1",
        }
        with LiveServer(workdir, env) as server:
            secret = subprocess.run(
                [*gymgate_command(), "gates", "add", "timing"],
                env=server.env,
                cwd=workdir,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()[-1]
            tokens = passes(server, args.passes)
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
                )
                page = browser.new_page(base_url=server.url)
                page.goto("/scan")
                gate = {"name": "timing", "secret": secret}
                result = page.evaluate(MEASURE, [gate, tokens])
                browser.close()
    print(json.dumps({"decisions": args.passes, **result}))
    print(
        f"offline decision in the page: {result['decideMs']:.2f} ms each "
        f"(signature and claims alone: {result['verifyMs']:.2f} ms), {args.passes} passes"
    )


if __name__ == "__main__":
    main()
