"""Exactly once at scale: N passes, 8 scanners, 3 `gymgate serve` processes, one database.

Every scanner scans every pass at the same moment, each at a different server; the script
prints the counts and exits 1 unless there is exactly one allow per pass, the rest
already_used, and one audit row per call.

    .venv/bin/python scripts/exactly_once.py                 # SQLite, N=1000
    .venv/bin/python scripts/exactly_once.py --postgres      # a throwaway Postgres database
    .venv/bin/python scripts/exactly_once.py --passes 200 --servers 4 --scanners 8
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.cluster import (
    Cluster,
    add_gates,
    integrity_check,
    issue_passes,
    outcomes,
    read_audit,
    scan_every_pass,
)
from testkit.databases import PostgresDatabase, sqlite_url
from testkit.live_server import server_env

from gymgate.clock import SystemClock
from gymgate.keystore import KeyStore
from gymgate.settings import Settings
from gymgate.storage import upgrade_database

ADMIN_TOKEN = "exactly-once-admin-token"  # noqa: S105  (a throwaway server's, on purpose)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=1000)
    parser.add_argument("--scanners", type=int, default=8)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="use a throwaway Postgres")
    return parser.parse_args()


async def _scenario(workdir: Path, database_url: str, options: argparse.Namespace) -> bool:
    keys_dir = workdir / "keys"
    KeyStore(keys_dir).rotate(SystemClock())
    settings = Settings(database_url=database_url, keys_dir=keys_dir, admin_token=ADMIN_TOKEN)
    env = server_env(settings, GYMGATE_LOG_LEVEL="WARNING")
    secrets = await add_gates(database_url, options.scanners)
    tokens = await issue_passes(database_url, keys_dir, options.passes)
    with Cluster(workdir, env, options.servers) as cluster:
        started = time.monotonic()
        scans = await scan_every_pass(cluster.urls, secrets, tokens)
        seconds = time.monotonic() - started
    audit = await read_audit(database_url)
    integrity = await integrity_check(database_url)

    answers = outcomes(scans)
    allows = Counter(scan.pass_index for scan in scans if scan.outcome == "allow")
    audited = Counter((row.result, row.reason or "-") for row in audit)
    expected_scans = options.passes * options.scanners
    print(f"servers {options.servers}, scanners {options.scanners}, passes {options.passes}")
    print(f"scans {len(scans)} in {seconds:.1f} s ({len(scans) / seconds:.0f}/s)")
    print("answers " + ", ".join(f"{k} {v}" for k, v in sorted(answers.items())))
    print(
        f"passes allowed once {sum(1 for n in allows.values() if n == 1)}, more than once "
        f"{sum(1 for n in allows.values() if n > 1)}, never {options.passes - len(allows)}"
    )
    print(f"audit rows {len(audit)}: " + ", ".join(f"{r} {k} {v}" for (r, k), v in audited.items()))
    print(f"integrity {integrity}")
    return (
        len(scans) == expected_scans
        and answers == {"allow": options.passes, "already_used": expected_scans - options.passes}
        and len(allows) == options.passes
        and set(allows.values()) == {1}
        and len(audit) == expected_scans
        and audited[("allow", "-")] == options.passes
        and integrity == "ok"
    )


def main() -> int:
    options = _arguments()
    with tempfile.TemporaryDirectory(prefix="gymgate-exactly-once-") as directory:
        workdir = Path(directory)
        if not options.postgres:
            database_url = sqlite_url(workdir / "gymgate.db")
            upgrade_database(database_url)
            ok = asyncio.run(_scenario(workdir, database_url, options))
        else:
            postgres = PostgresDatabase()
            postgres.create()
            try:
                ok = asyncio.run(_scenario(workdir, postgres.url, options))
            finally:
                postgres.drop()
    print("EXACTLY ONCE: OK" if ok else "EXACTLY ONCE: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
