"""Exactly once, across processes: 3 servers on one database, 8 scanners, every pass scanned
by every scanner at the same moment. One allow per pass, the rest already_used, one audit
row per call, on SQLite and on Postgres. `scripts/exactly_once.py` runs the same at N=1000.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit.cluster import (
    Cluster,
    add_gates,
    integrity_check,
    issue_passes,
    outcomes,
    read_audit,
    scan_every_pass,
)
from testkit.live_server import server_env

from gymgate.settings import Settings

pytestmark = pytest.mark.e2e

PASSES = 100
SCANNERS = 8
SERVERS = 3


@pytest.fixture
def cluster(tmp_path: Path, settings: Settings) -> Iterator[Cluster]:
    with Cluster(tmp_path, server_env(settings, GYMGATE_LOG_LEVEL="WARNING"), SERVERS) as started:
        yield started


async def test_every_pass_is_allowed_exactly_once_across_servers_and_scanners(
    cluster: Cluster, settings: Settings
) -> None:
    secrets = await add_gates(settings.database_url, SCANNERS)
    tokens = await issue_passes(settings.database_url, settings.keys_dir, PASSES)

    scans = await scan_every_pass(cluster.urls, secrets, tokens)

    assert outcomes(scans) == {"allow": PASSES, "already_used": PASSES * (SCANNERS - 1)}
    allowed = Counter(scan.pass_index for scan in scans if scan.outcome == "allow")
    assert sorted(allowed) == list(range(PASSES))
    assert set(allowed.values()) == {1}
    assert {scan.server for scan in scans} == set(cluster.urls)
    allowed_ids = {scan.body["pass_id"] for scan in scans if scan.body and scan.outcome == "allow"}

    audit = await read_audit(settings.database_url)
    assert len(audit) == PASSES * SCANNERS
    assert Counter((row.result, row.reason) for row in audit) == {
        ("allow", None): PASSES,
        ("deny", "already_used"): PASSES * (SCANNERS - 1),
    }
    assert Counter(row.gate for row in audit) == dict.fromkeys(secrets, PASSES)
    audited_allows = Counter(row.pass_id for row in audit if row.result == "allow")
    assert set(audited_allows) == allowed_ids
    assert set(audited_allows.values()) == {1}
    assert await integrity_check(settings.database_url) == "ok"
    assert "Traceback" not in cluster.logs()
