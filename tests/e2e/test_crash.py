"""Crashes: kill -9 servers in the middle of the exactly-once load and restart them.

No pass answered allow is ever allowed again, every answered call has its audit row (a
call whose answer was lost with the server may have one too, never more than one), and the
database passes its own integrity check.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from testkit.cluster import (
    Cluster,
    Scan,
    add_gates,
    integrity_check,
    issue_passes,
    read_audit,
    scan_every_pass,
)
from testkit.live_server import LiveServer, server_env

from gymgate.settings import Settings

pytestmark = pytest.mark.e2e

PASSES = 60
SCANNERS = 8
# (passes completed, server to kill): six crashes per run, two per server. A kill lands at a
# random moment; on a busy machine the client is the slow side and a server can sit idle
# between batches, so one kill in three may cut nothing off: six make "nothing in flight at
# any kill" (which would leave the test vacuous) rare.
CRASHES = tuple((PASSES * (2 + 3 * n) // 20, n % 3) for n in range(6))


def pass_id_of(token: str) -> str:
    jti: str = jwt.decode(token, options={"verify_signature": False})["jti"]
    return jti


@pytest.fixture
def cluster(tmp_path: Path, settings: Settings) -> Iterator[Cluster]:
    with Cluster(tmp_path, server_env(settings, GYMGATE_LOG_LEVEL="WARNING"), 3) as started:
        yield started


def _kill_a_moment_later(server: LiveServer) -> None:
    time.sleep(random.uniform(0.005, 0.03))  # lets the next batch of scans reach the server
    server.kill()


async def _crash_during(cluster: Cluster, progress: asyncio.Queue[int]) -> int:
    """Kill -9 a server when the load reaches each mark, restart it at once; crashes done."""
    done = 0
    crashes = 0
    for mark, index in CRASHES:
        while done < mark:
            await progress.get()
            done += 1
        server = cluster.servers[index]
        # Killed from another thread while this loop keeps the scans going, so the signal
        # lands at an arbitrary moment of the server's work, not between two answers.
        await asyncio.to_thread(_kill_a_moment_later, server)
        crashes += 1
        await asyncio.to_thread(server.start)
    return crashes


async def test_killed_servers_never_double_admit_and_lose_no_answered_audit_row(
    cluster: Cluster, settings: Settings
) -> None:
    secrets = await add_gates(settings.database_url, SCANNERS)
    tokens = await issue_passes(settings.database_url, settings.keys_dir, PASSES)
    pass_ids = [pass_id_of(token) for token in tokens]
    progress: asyncio.Queue[int] = asyncio.Queue()

    scans, crashes = await asyncio.gather(
        scan_every_pass(cluster.urls, secrets, tokens, progress=progress),
        _crash_during(cluster, progress),
    )
    # After the crashes and restarts, every server (restarted ones too) sees every pass.
    gate, secret = next(iter(secrets.items()))
    rescans: list[Scan] = []
    for number in range(len(cluster.urls)):
        rescans += await scan_every_pass(
            cluster.urls[number:] + cluster.urls[:number], {gate: secret}, tokens
        )

    assert crashes == len(CRASHES)
    # Requests cut off inside a dying server: each may or may not have been decided.
    lost = [scan for scan in scans if not scan.answered and scan.sent]
    print(f"crashes {crashes}, cut off in flight {len(lost)}, attempts {len(scans)}")
    answered = [scan for scan in scans + rescans if scan.answered]
    assert {scan.status_code for scan in answered} == {200}
    allowed = Counter(scan.pass_index for scan in answered if scan.outcome == "allow")
    assert set(allowed.values()) == {1}, "a pass was allowed twice"
    assert all(scan.outcome in ("already_used", "revoked") for scan in rescans)
    assert len(allowed) >= PASSES - len(lost)

    audit = Counter(
        (r.gate, r.pass_id, r.result, r.reason) for r in await read_audit(settings.database_url)
    )
    calls: Counter[tuple[str, str | None, str, str | None]] = Counter(
        (
            scan.gate,
            pass_ids[scan.pass_index],
            "allow" if scan.outcome == "allow" else "deny",
            None if scan.outcome == "allow" else scan.outcome,
        )
        for scan in answered
    )
    assert calls - audit == Counter(), "an answered call has no audit row"
    assert (audit - calls).total() <= len(lost), "more audit rows than calls"
    allows_audited = Counter(pass_id for (_, pass_id, result, _) in audit if result == "allow")
    assert set(allows_audited.values()) == {1}
    assert await integrity_check(settings.database_url) == "ok"
    if not lost:  # every check above held, but no kill cut a request off mid-flight
        pytest.xfail("the kills hit no request in flight: this run proved restarts only")
