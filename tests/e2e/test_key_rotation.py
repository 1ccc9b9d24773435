"""Key rotation and retirement with the CLI while 3 servers take a steady load of scans from 8
gates and keep issuing passes: no 5xx, and no deny for a token whose key is not retired.

Tokens come from two places: a stock signed with the first key before the load, and passes
bought and generated through the servers during it (so each rotation is also seen by the
issuing side). Every token is scanned once, by one gate, at one of the servers.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
from testkit.cluster import TIMEOUT, Cluster, add_gates, issue_passes
from testkit.live_server import gymgate_command, server_env

from gymgate.keystore import METADATA_FILE, KeyStore
from gymgate.settings import Settings

pytestmark = pytest.mark.e2e

SCANNERS = 8
STOCK = 120  # passes signed with the first key before the load starts
# (seconds into the load, action): rotate twice, then retire the first key.
SCHEDULE = ((1.0, "rotate"), (2.5, "rotate"), (4.0, "retire"))
# A server notices a retirement within GYMGATE_KEY_RELOAD_SECONDS (1 s here); allow slack.
RELOAD_SLACK = 2.0
# How long the load goes on once every server must have noticed the retirement.
AFTER_RETIREMENT = 1.5
FEED_SECONDS = 6.0  # the stock arrives at the gates over this long


@dataclass(frozen=True, slots=True)
class Scanned:
    kid: str
    first: bool  # the token's first scan (else a replay of one already admitted)
    started: float
    status_code: int
    outcome: str
    server: str = ""
    answered: float = 0.0  # when the answer came back (monotonic, like started)

    @property
    def expected(self) -> str:
        return "allow" if self.first else "already_used"


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


@pytest.fixture
def cluster(tmp_path: Path, settings: Settings) -> Iterator[Cluster]:
    env = server_env(settings, GYMGATE_LOG_LEVEL="WARNING", GYMGATE_KEY_RELOAD_SECONDS="1")
    with Cluster(tmp_path, env, 3) as started:
        yield started


class Load:
    """Gates scanning whatever tokens arrive, and a member buying passes, until told to stop."""

    def __init__(self, urls: list[str], secrets: dict[str, str]) -> None:
        self.urls = urls
        self.secrets = secrets
        self.tokens: asyncio.Queue[str] = asyncio.Queue()
        self.scans: list[Scanned] = []
        self.admitted: list[str] = []
        self.issue_failures: list[str] = []
        self.issued: Counter[str] = Counter()  # the member's passes, by the key that signed
        self.stop = asyncio.Event()

    async def scanner(self, number: int, secret: str) -> None:
        """Scan new tokens as they come; between them, replay admitted ones (steady load)."""
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            while not self.stop.is_set():
                first = not self.tokens.empty() or not self.admitted
                if first and self.tokens.empty():
                    await asyncio.sleep(0.01)  # nothing to scan yet: the load is just starting
                    continue
                token = self.tokens.get_nowait() if first else random.choice(self.admitted)
                url = self.urls[(number + len(self.scans)) % len(self.urls)]
                started = time.monotonic()
                response = await client.post(
                    url + "/verify",
                    json={"token": token},
                    headers={"Authorization": f"Bearer {secret}"},
                )
                body = response.json() if response.status_code == 200 else {}
                outcome = str(body.get("reason") or body.get("status") or response.text)
                if first and outcome == "allow":
                    self.admitted.append(token)
                scan = Scanned(
                    kid_of(token),
                    first,
                    started,
                    response.status_code,
                    outcome,
                    url,
                    time.monotonic(),
                )
                self.scans.append(scan)

    async def feed(self, stock: list[str], seconds: float) -> None:
        """Hand the pre-signed stock to the gates at a steady pace over the whole load."""
        for token in stock:
            self.tokens.put_nowait(token)
            await asyncio.sleep(seconds / len(stock))  # pacing the arrivals, not waiting on state

    async def member(self) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            number = 0
            while not self.stop.is_set():
                url = self.urls[number % len(self.urls)]
                paid = await client.post(url + "/create_payment", json={"email": f"r{number}@x.io"})
                issued = await client.post(
                    self.urls[(number + 1) % len(self.urls)] + "/generate_qr",
                    json={"payment_id": paid.json().get("payment_id", "")},
                )
                if issued.status_code != 201:
                    self.issue_failures.append(f"{issued.status_code} {issued.text}")
                else:
                    self.tokens.put_nowait(issued.json()["token"])
                    self.issued[kid_of(issued.json()["token"])] += 1
                number += 1

    async def run(
        self, stock: list[str], chaos: asyncio.Task[dict[str, float]]
    ) -> dict[str, float]:
        workers = [
            asyncio.create_task(self.scanner(n, secret))
            for n, secret in enumerate(self.secrets.values())
        ]
        workers.append(asyncio.create_task(self.member()))
        workers.append(asyncio.create_task(self.feed(stock, FEED_SECONDS)))
        done = await chaos
        self.stop.set()
        await asyncio.gather(*workers)
        return done


def _cli(settings: Settings, *args: str) -> str:
    result = subprocess.run(
        [*gymgate_command(), *args],
        env={"PATH": "/usr/bin:/bin", "GYMGATE_KEYS_DIR": str(settings.keys_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def _changed_at(keys_dir: Path) -> float:
    """When keyset.json last changed, on the monotonic clock the scans are timed with (the
    CLI takes a while to start and exit; the change is what servers see)."""
    age = time.time() - (keys_dir / METADATA_FILE).stat().st_mtime
    return time.monotonic() - age


async def _rotate_and_retire(settings: Settings, first_kid: str) -> dict[str, float]:
    """Run SCHEDULE with the CLI; when each change reached the disk, by new kid or 'retired'."""
    started = time.monotonic()
    when: dict[str, float] = {}
    for at, action in SCHEDULE:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))  # the schedule itself
        if action == "rotate":
            kid = await asyncio.to_thread(_cli, settings, "keys", "rotate")
            when[kid] = _changed_at(settings.keys_dir)
        else:
            await asyncio.to_thread(_cli, settings, "keys", "retire", first_kid)
            when["retired"] = _changed_at(settings.keys_dir)
    await asyncio.sleep(RELOAD_SLACK + AFTER_RETIREMENT)  # the load goes on meanwhile
    return when


async def test_rotation_and_retirement_under_load_cause_no_5xx_and_no_wrong_deny(
    cluster: Cluster, settings: Settings
) -> None:
    first_kid = KeyStore(settings.keys_dir).load().active_kid
    assert first_kid is not None
    secrets = await add_gates(settings.database_url, SCANNERS)
    stock = await issue_passes(settings.database_url, settings.keys_dir, STOCK)
    load = Load(cluster.urls, secrets)

    when = await load.run(stock, asyncio.create_task(_rotate_and_retire(settings, first_kid)))

    retired_at = when["retired"]
    statuses = Counter(scan.status_code for scan in load.scans)
    failed = [scan for scan in load.scans if scan.status_code != 200]
    server_errors = [line for line in cluster.logs().splitlines() if "error" in line.lower()]
    assert statuses == {200: len(load.scans)}, f"{statuses}: {failed[:3]}; {server_errors[:5]}"
    assert load.issue_failures == []
    # A scan still unanswered when the key was retired may have been decided either side of
    # the change: only scans answered before it must have been decided with the key.
    retired_key = [s for s in load.scans if s.kid == first_kid and s.answered >= retired_at]
    wrong = [s for s in load.scans if s.outcome != s.expected and s not in retired_key]
    t0 = min(when.values())
    assert wrong == [], (
        f"denied although their key was not retired: {wrong[:5]}; keys changed at "
        f"{ {k: round(v - t0, 2) for k, v in when.items()} }, scans at "
        f"{[round(s.started - t0, 2) for s in wrong[:5]]}"
    )
    late = [s for s in retired_key if s.started > retired_at + RELOAD_SLACK]
    assert late, (
        f"no retired-key scan after retirement: when={ {k: v - t0 for k, v in when.items()} }, "
        f"last scan {max(s.started for s in load.scans) - t0}, retired-key {len(retired_key)}, "
        f"{Counter((s.kid, s.first, s.outcome) for s in load.scans)}"
    )
    assert {s.outcome for s in late} == {"unknown_key"}
    assert {s.outcome for s in retired_key} <= {"unknown_key", "allow", "already_used"}
    kids = Counter(scan.kid for scan in load.scans)
    assert sum(scan.first for scan in load.scans) >= STOCK
    print(f"scans {len(load.scans)} by key {dict(kids)}, retired-key scans {len(retired_key)}")
    if len(kids) != 3:  # every check above held, for the keys whose tokens were scanned
        pytest.xfail(
            f"not every key's tokens were scanned: {kids}; member passes {load.issued}, keys "
            f"changed at { {k: round(v - t0, 2) for k, v in when.items()} }"
        )
