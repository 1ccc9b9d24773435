"""How long the scanner page takes to decide offline, measured in headless Chromium.

Starts `gymgate serve` on a throwaway SQLite database, pays for N passes, syncs a gate in the
scanner page's own code (web/scan/gatelink.js), then times N offline decisions in the page:
the check alone (proof.js over verify.js) and the whole decision (check, then the IndexedDB
transaction that stores it before it is shown). Prints milliseconds per decision. With
`--bound` the server binds passes to phones (testkit.phones) and the page checks each code's
proof too.

    .venv/bin/python scripts/scanner_offline_timing.py             # N=200
    .venv/bin/python scripts/scanner_offline_timing.py --passes 500
    .venv/bin/python scripts/scanner_offline_timing.py --bound
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from playwright.sync_api import sync_playwright
from testkit.databases import SqliteTemplate
from testkit.live_server import LiveServer, gymgate_command
from testkit.phones import Phone

ADMIN_TOKEN = secrets.token_urlsafe(24)  # a throwaway server's
CHROMIUM = "/usr/bin/chromium"

MEASURE = """async ([gate, tokens]) => {
    const { GateLink } = await import("/scan/gatelink.js");
    const { checkScan } = await import("/scan/proof.js");
    const link = new GateLink(gate, () => {});
    await link.open();
    await link.sync();
    let started = performance.now();
    for (const token of tokens) {
        const checked = await checkScan(token, link.rules, link.now());
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


@dataclass(frozen=True)
class IssuedPass:
    token: str
    pass_id: str
    phone: Phone | None  # the phone a bound pass is bound to

    def code(self, now: float) -> str:
        """What the pass's QR shows at `now`: the token, or token~ts~sig from its phone."""
        return self.phone.show(self.token, self.pass_id, now) if self.phone else self.token


def passes(server: LiveServer, count: int, bound: bool) -> list[IssuedPass]:
    issued_passes = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for n in range(count):
            payment = client.post("/create_payment", json={"email": f"m{n}@example.com"}).json()
            phone = Phone() if bound else None
            body = {"payment_id": payment["payment_id"]}
            if phone:
                body["device_key"] = phone.jwk
            issued = client.post("/generate_qr", json=body).json()
            issued_passes.append(IssuedPass(issued["token"], issued["pass_id"], phone))
    return issued_passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument("--bound", action="store_true", help="passes bound to phones")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        database = SqliteTemplate(workdir / "template").fresh_copy(workdir)
        env = {
            "GYMGATE_DATABASE_URL": database,
            "GYMGATE_KEYS_DIR": str(workdir / "keys"),
            "GYMGATE_ADMIN_TOKEN": ADMIN_TOKEN,
            "GYMGATE_DEV_MODE": "1",
            "GYMGATE_WRITE_LIMIT_PER_MINUTE": "0",  # one address pays for every pass
            "GYMGATE_PASS_BINDING": "device" if args.bound else "none",
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
            issued = passes(server, args.passes, args.bound)
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
                )
                page = browser.new_page(base_url=server.url)
                page.goto("/scan")
                gate = {"name": "timing", "secret": secret}
                now = time.time()  # fresh proofs: each is good for the proof window only
                result = page.evaluate(MEASURE, [gate, [one.code(now) for one in issued]])
                browser.close()
    kind = "bound" if args.bound else "plain"
    print(json.dumps({"decisions": args.passes, "passes": kind, **result}))
    print(
        f"offline decision in the page: {result['decideMs']:.2f} ms each "
        f"(checks alone: {result['verifyMs']:.2f} ms), {args.passes} {kind} passes"
    )


if __name__ == "__main__":
    main()
